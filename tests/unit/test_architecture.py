"""Rules of the code base that a reader should not have to check by hand."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SYNCD = Path(__file__).resolve().parents[2] / "syncd"

# Attributes of objects that are not ours to wire: a library's documented way to set them.
LIBRARY_OBJECTS = {
    ("logs.py", "record.msg"),  # logging.LogRecord, rewritten by a filter
    ("logs.py", "record.args"),
    ("logs.py", "record.exc_text"),
    ("store.py", "dbapi_connection.isolation_level"),  # sqlite3's own switch
    ("store.py", "cursor.arraysize"),  # DB-API
    ("cloud/session.py", "response.request"),  # httpx.Response
    ("cloud/session.py", "response.stream"),
    ("cloud/login.py", "self._server.receiver"),  # http.server's server object
    ("cloud/login.py", "self._server.timeout"),
    ("web/server.py", "self._http.timeout"),
}


def _writes(tree: ast.AST) -> Iterator[tuple[ast.Attribute, ast.AST | None]]:
    """Each attribute assignment, with the function it is in."""

    def visit(
        node: ast.AST, function: ast.AST | None
    ) -> Iterator[tuple[ast.Attribute, ast.AST | None]]:
        for child in ast.iter_child_nodes(node):
            scope = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            targets: list[ast.expr] = []
            if isinstance(child, ast.Assign):
                targets = list(child.targets)
            elif isinstance(child, ast.AugAssign | ast.AnnAssign):
                targets = [child.target]
            while targets:
                target = targets.pop()
                if isinstance(target, ast.Tuple | ast.List):
                    targets.extend(target.elts)
                elif isinstance(target, ast.Attribute):
                    yield target, function
            yield from visit(child, scope)

    yield from visit(tree, None)


def _made_here(name: str, function: ast.AST | None) -> bool:
    """Is `name` a local the same function bound to a new object (a call)? Filling in a value
    one has just made is building it, not wiring someone else's."""
    if function is None:
        return False
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ):
            return True
    return False


def test_no_module_writes_another_object_s_attributes() -> None:
    """Objects are wired through their constructors; what changes later changes through
    methods. A write into another object's attributes is how hubs grow."""
    found = []
    for path in sorted(SYNCD.rglob("*.py")):
        rel = path.relative_to(SYNCD).as_posix()
        if rel.startswith("emulator/"):
            continue  # the emulator is a separate program (its tree nodes are its own)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for attribute, function in _writes(tree):
            owner = attribute.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Name) and _made_here(owner.id, function):
                continue
            shown = ast.unparse(attribute)
            if (rel, shown) in LIBRARY_OBJECTS:
                continue
            found.append(f"{rel}:{attribute.lineno}: {shown}")
    assert found == []
