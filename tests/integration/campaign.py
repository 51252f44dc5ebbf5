"""Shared by the crash and fault campaigns: a seeded workload of changes on both sides of a
synced folder pair, the exact tree it must converge to, and the checks each trial makes.

The workload. A base tree (folders `dNN` of small files, a few larger ones, some nested
`sub` folders) is synced first. Then every folder gets at most one role, so no two changes
touch the same item and the outcome is known exactly: edits, new files and new folders,
deletes of files and whole folders, folder renames and moves, file moves (a move plus a
rename, two API calls), a conflict (both sides edit one file), and a false conflict (both
sides write the same new file). Quiet folders are left alone and serve as move targets.

Every version has unique bytes *and a unique size*. Unique bytes let the checks follow a
version wherever it went; unique sizes keep remote edits visible and remote moves
recognisable: the API has 1-second dates and no checksum, so a same-size rewrite within the
same second, or two files alike in size and date, are beyond any client (README, limits).

The expected tree is what an uninterrupted sync leaves: each change applied, the conflict
resolved the default way (the cloud keeps the name, the local version becomes a conflicted
copy). Conflicted-copy names hold a timestamp, so both trees are compared with those names
folded to `name (conflicted copy).ext`.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from syncd.emulator import Emulator
from syncd.sync.localfs import PARTIAL_SUFFIX
from syncd.sync.remote import TEMP_PREFIX
from tests.integration.harness import DIR, REMOTE_ROOT, read_local_tree

Tree = dict[str, bytes | str]

CONFLICT_LABEL = re.compile(r" \(conflicted copy \d{4}-\d\d-\d\d \d{6} [^)]*\)")
DUPLICATE_NAME = re.compile(r"\(\d+\)(\.[^.]*)?$")
# Remote versions carry explicit dates ahead of anything the emulator stamps itself.
REMOTE_EPOCH = datetime.now().replace(microsecond=0) + timedelta(hours=1)

# Roles a folder can take; each trial has one of every MANDATORY role and one folder move.
MANDATORY = (
    "local-edit",
    "remote-edit",
    "local-delete",
    "remote-delete",
    "local-new",
    "remote-new",
    "conflict",
)
FOLDER_MOVES = (
    "local-rename-folder",
    "local-move-folder",
    "remote-rename-folder",
    "remote-move-folder",
)
EXTRAS = (
    *MANDATORY,
    *FOLDER_MOVES,
    "local-move-file",
    "remote-move-file",
    "local-delete-folder",
    "remote-delete-folder",
    "same-new",
    "local-new-folder",
    "remote-new-folder",
)


def fold_conflicts(tree: Tree) -> Tree:
    return {CONFLICT_LABEL.sub(" (conflicted copy)", path): value for path, value in tree.items()}


def conflict_copy(rel_path: str) -> str:
    folder, _, name = rel_path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    copy = f"{stem} (conflicted copy).{ext}" if dot and stem else f"{name} (conflicted copy)"
    return f"{folder}/{copy}" if folder else copy


def rename_subtree(tree: Tree, src: str, dst: str) -> None:
    for path in [p for p in tree if p == src or p.startswith(src + "/")]:
        tree[dst + path[len(src) :]] = tree.pop(path)


def drop_subtree(tree: Tree, folder: str) -> list[bytes]:
    gone: list[bytes] = []
    for path in [p for p in tree if p == folder or p.startswith(folder + "/")]:
        value = tree.pop(path)
        if isinstance(value, bytes):
            gone.append(value)
    return gone


def versions(tree: Tree) -> Counter[bytes]:
    return Counter(value for value in tree.values() if isinstance(value, bytes))


@dataclass
class Shape:
    folders: int = 14
    files_per_folder: int = 3
    sub_every: int = 3  # every n-th folder holds a `sub` folder with one file (0: none)
    big_files: int = 2  # base files of `big_size` bytes, for transfers that take a while
    big_size: int = 192 * 1024
    extra_roles: int = 3  # roles drawn beyond the mandatory ones
    quiet_share: float = 0.15  # this share of the folders stays untouched (at least two)


@dataclass
class Workload:
    """A base tree, then changes on both sides; `expected` is where they must end up."""

    rng: random.Random
    shape: Shape = field(default_factory=Shape)
    base: Tree = field(default_factory=dict)
    expected: Tree = field(default_factory=dict)
    # Base versions a side dropped (deleted or overwrote) while the other side kept them:
    # the only versions a sync may remove.
    dropped: set[bytes] = field(default_factory=set)
    deleted_paths: set[str] = field(default_factory=set)
    roles: dict[str, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)  # changes made, by kind
    conflicts: int = 0
    counter: int = 0

    # --- versions ------------------------------------------------------------------------

    def content(self, tag: str, *, big: bool = False) -> bytes:
        """Unique bytes of a unique size (see the module docstring)."""
        self.counter += 1
        size = (self.shape.big_size if big else 48) + self.counter * 7
        head = f"{tag}#{self.counter}|".encode()
        pad = bytes(self.rng.randrange(97, 123) for _ in range(min(64, size)))
        body = head + (pad * (size // len(pad) + 1))
        return body[:size]

    def remote_time(self) -> datetime:
        return REMOTE_EPOCH + timedelta(seconds=self.counter)

    # --- the base tree -------------------------------------------------------------------

    def make_base(self) -> Tree:
        shape = self.shape
        tree: Tree = {}
        for index in range(shape.folders):
            folder = f"d{index:02d}"
            tree[folder] = DIR
            for number in range(shape.files_per_folder):
                tree[f"{folder}/f{number}.txt"] = self.content(f"{folder}/f{number}")
            if shape.sub_every and index % shape.sub_every == shape.sub_every - 1:
                tree[f"{folder}/sub"] = DIR
                tree[f"{folder}/sub/s0.txt"] = self.content(f"{folder}/sub/s0")
            if index < shape.big_files:
                tree[f"{folder}/big.bin"] = self.content(f"{folder}/big", big=True)
        tree["top.txt"] = self.content("top")
        self.base = dict(tree)
        return tree

    def assign_roles(self) -> None:
        folders = [f"d{index:02d}" for index in range(self.shape.folders)]
        self.rng.shuffle(folders)
        quiet = max(2, int(len(folders) * self.shape.quiet_share))
        busy = folders[quiet:]
        roles = [*MANDATORY, self.rng.choice(FOLDER_MOVES)]
        roles += [self.rng.choice(EXTRAS) for _ in range(self.shape.extra_roles)]
        while len(roles) < len(busy):
            roles.append(self.rng.choice(EXTRAS))
        if len(roles) > len(busy):
            raise ValueError(f"{len(roles)} roles need more than {len(busy)} busy folders")
        self.roles = dict(zip(busy, roles, strict=False))
        self.quiet = sorted(folders[:quiet])

    # --- applying the changes ------------------------------------------------------------

    def apply(self, root: Path, emu: Emulator) -> None:
        """Make every folder's change on its side(s) and work out the expected tree."""
        self.expected = dict(self.base)
        self.local_tree: Tree = dict(self.base)
        self.remote_tree: Tree = dict(self.base)
        side = _Sides(root, emu, self)
        for folder, role in sorted(self.roles.items()):
            getattr(self, "_" + role.replace("-", "_"))(side, folder)
            self.counts[role] += 1

    def _files(self, folder: str) -> list[str]:
        return sorted(p for p, v in self.base.items() if p.startswith(folder + "/") and v != DIR)

    def _edit(self, side: _Sides, which: str, folder: str) -> None:
        for path in self._files(folder)[:2]:
            new = self.content(f"{which}-edit:{path}", big=path.endswith(".bin"))
            side.write(which, path, new)
            self.dropped.add(_bytes(self.base[path]))
            self.expected[path] = new

    def _local_edit(self, side: _Sides, folder: str) -> None:
        self._edit(side, "local", folder)

    def _remote_edit(self, side: _Sides, folder: str) -> None:
        self._edit(side, "remote", folder)

    def _delete(self, side: _Sides, which: str, folder: str) -> None:
        path = self._files(folder)[0]
        side.delete(which, path)
        self.dropped.add(_bytes(self.base[path]))
        self.expected.pop(path)
        self.deleted_paths.add(path)

    def _local_delete(self, side: _Sides, folder: str) -> None:
        self._delete(side, "local", folder)

    def _remote_delete(self, side: _Sides, folder: str) -> None:
        self._delete(side, "remote", folder)

    def _delete_folder(self, side: _Sides, which: str, folder: str) -> None:
        side.delete(which, folder)
        self.dropped.update(drop_subtree(self.expected, folder))
        self.deleted_paths.add(folder)

    def _local_delete_folder(self, side: _Sides, folder: str) -> None:
        self._delete_folder(side, "local", folder)

    def _remote_delete_folder(self, side: _Sides, folder: str) -> None:
        self._delete_folder(side, "remote", folder)

    def _new(self, side: _Sides, which: str, folder: str, *, big: bool = False) -> None:
        for number in range(2):
            path = f"{folder}/{which}-new{number}.dat"
            new = self.content(f"{which}-new:{path}", big=big and number == 0)
            side.write(which, path, new)
            self.expected[path] = new

    def _local_new(self, side: _Sides, folder: str) -> None:
        self._new(side, "local", folder, big=self.rng.random() < 0.5)

    def _remote_new(self, side: _Sides, folder: str) -> None:
        self._new(side, "remote", folder, big=self.rng.random() < 0.5)

    def _new_folder(self, side: _Sides, which: str, folder: str) -> None:
        fresh = f"{folder}/{which}-made"
        self.expected[fresh] = DIR
        self._new(side, which, fresh)
        self.expected[f"{fresh}/deeper"] = DIR
        self._new(side, which, f"{fresh}/deeper")

    def _local_new_folder(self, side: _Sides, folder: str) -> None:
        self._new_folder(side, "local", folder)

    def _remote_new_folder(self, side: _Sides, folder: str) -> None:
        self._new_folder(side, "remote", folder)

    def _same_new(self, side: _Sides, folder: str) -> None:
        path = f"{folder}/both-new.dat"
        new = self.content(f"same:{path}")
        side.write("local", path, new)
        side.write("remote", path, new)
        self.expected[path] = new

    def _conflict(self, side: _Sides, folder: str) -> None:
        path = self._files(folder)[0]
        mine, theirs = self.content(f"local-side:{path}"), self.content(f"cloud-side:{path}")
        side.write("local", path, mine)
        side.write("remote", path, theirs)
        self.dropped.add(_bytes(self.base[path]))
        self.expected[path] = theirs
        self.expected[conflict_copy(path)] = mine
        self.conflicts += 1

    def _move_folder(self, side: _Sides, which: str, folder: str, *, rename_only: bool) -> None:
        if rename_only:
            target = f"{folder}-{which}-renamed"
        else:
            target = f"{self.rng.choice(self.quiet)}/{folder}-{which}-moved"
        side.move(which, folder, target)
        rename_subtree(self.expected, folder, target)

    def _local_rename_folder(self, side: _Sides, folder: str) -> None:
        self._move_folder(side, "local", folder, rename_only=True)

    def _local_move_folder(self, side: _Sides, folder: str) -> None:
        self._move_folder(side, "local", folder, rename_only=False)

    def _remote_rename_folder(self, side: _Sides, folder: str) -> None:
        self._move_folder(side, "remote", folder, rename_only=True)

    def _remote_move_folder(self, side: _Sides, folder: str) -> None:
        self._move_folder(side, "remote", folder, rename_only=False)

    def _move_file(self, side: _Sides, which: str, folder: str) -> None:
        path = self._files(folder)[-1]
        name = path.rsplit("/", 1)[1]
        target = f"{self.rng.choice(self.quiet)}/{which}-moved-{folder}-{name}"
        side.move(which, path, target)
        rename_subtree(self.expected, path, target)

    def _local_move_file(self, side: _Sides, folder: str) -> None:
        self._move_file(side, "local", folder)

    def _remote_move_file(self, side: _Sides, folder: str) -> None:
        self._move_file(side, "remote", folder)

    def change_meanwhile(self, root: Path, emu: Emulator) -> None:
        """What a user does while a sync runs: a new local file and a cloud edit, both in a
        quiet folder (so they cross no other change)."""
        side = _Sides(root, emu, self)
        folder = self.quiet[0]
        self.counter += 1
        fresh = f"{folder}/meanwhile{self.counter}"
        self.expected[fresh] = DIR
        self._new(side, "local", fresh)
        path = f"{folder}/f0.txt"
        if path in self.expected and self.base.get(path) == self.remote_tree.get(path):
            new = self.content(f"remote-meanwhile:{path}")
            side.write("remote", path, new)
            self.dropped.add(_bytes(self.base[path]))
            self.expected[path] = new
        self.counts["meanwhile"] += 1

    # --- what the checks need ------------------------------------------------------------

    def required(self) -> Counter[bytes]:
        """Every version either side holds must survive, except the base versions dropped."""
        held = set(versions(self.local_tree)) | set(versions(self.remote_tree))
        return Counter({v: 1 for v in held - self.dropped})


def _bytes(value: bytes | str) -> bytes:
    assert isinstance(value, bytes)
    return value


class _Sides:
    """Writes on the real local folder and in the emulator (as another client would)."""

    def __init__(self, root: Path, emu: Emulator, workload: Workload) -> None:
        self.root = root
        self.emu = emu
        self.w = workload

    def _tree(self, which: str) -> Tree:
        return self.w.local_tree if which == "local" else self.w.remote_tree

    def write(self, which: str, rel_path: str, data: bytes) -> None:
        tree = self._tree(which)
        folder = rel_path.rpartition("/")[0]
        parts = folder.split("/") if folder else []
        for depth in range(1, len(parts) + 1):
            tree["/".join(parts[:depth])] = DIR
        tree[rel_path] = data
        if which == "remote":
            when = self.w.remote_time()
            self.emu.put_file(f"{REMOTE_ROOT}/{rel_path}", data, created=when, modified=when)
            return
        path = self.root / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and self.w.rng.random() < 0.5:
            # An editor's atomic save: a new file (a new inode) renamed over the old one.
            temp = path.with_name(f".{path.name}.save")
            temp.write_bytes(data)
            os.replace(temp, path)
        else:
            path.write_bytes(data)

    def delete(self, which: str, rel_path: str) -> None:
        drop_subtree(self._tree(which), rel_path)
        if which == "remote":
            self.emu.delete(f"{REMOTE_ROOT}/{rel_path}")
            return
        path = self.root / rel_path
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()

    def move(self, which: str, src: str, dst: str) -> None:
        rename_subtree(self._tree(which), src, dst)
        if which == "remote":
            self.emu.move(f"{REMOTE_ROOT}/{src}", f"{REMOTE_ROOT}/{dst}")
            return
        os.rename(self.root / src, self.root / dst)


# --- reading both sides ----------------------------------------------------------------------


@dataclass
class Sides:
    """Both trees as they are, plus what each side holds that is not part of the tree."""

    local: Tree
    remote: Tree
    partials: list[str]  # local partial downloads
    temporaries: list[str]  # cloud upload temporaries
    trash: Counter[bytes]  # versions in the local trash


def read_local(root: Path) -> tuple[Tree, list[str], Counter[bytes]]:
    tree, partials = read_local_tree(root)
    trash: Counter[bytes] = Counter()
    for folder, _, files in os.walk(root / ".syncd" / "trash"):
        for name in files:
            trash[(Path(folder) / name).read_bytes()] += 1
    return tree, partials, trash


def read_remote(emu: Emulator) -> tuple[Tree, list[str]]:
    tree: Tree = {}
    temporaries: list[str] = []
    prefix = REMOTE_ROOT + "/"
    for path, entry in emu.listing().items():
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix) :]
        if rel.rpartition("/")[2].startswith(TEMP_PREFIX):
            temporaries.append(rel)
        elif entry.kind == "folder":
            tree[rel] = DIR
        else:
            tree[rel] = emu.read_file(path)
    return tree, sorted(temporaries)


def read_sides(root: Path, emu: Emulator) -> Sides:
    local, partials, trash = read_local(root)
    remote, temporaries = read_remote(emu)
    return Sides(local, remote, partials, temporaries, trash)


# --- the checks --------------------------------------------------------------------------------


def problems(workload: Workload, sides: Sides, *, temporaries_allowed: bool = False) -> list[str]:
    """Everything wrong with a pair that should have converged; empty when all is well."""
    found: list[str] = []
    local, remote = sides.local, sides.remote
    if local != remote:
        found.append(
            f"trees differ: local only {sorted(local.keys() - remote.keys())}, cloud only "
            f"{sorted(remote.keys() - local.keys())}, different "
            f"{sorted(p for p in local.keys() & remote.keys() if local[p] != remote[p])}"
        )
    if sides.partials:
        found.append(f"partial downloads left: {sides.partials}")
    if sides.temporaries and not temporaries_allowed:
        found.append(f"upload temporaries left in the cloud: {sides.temporaries}")
    for path in remote:
        name = path.rpartition("/")[2]
        if DUPLICATE_NAME.search(name):
            found.append(f"duplicate name in the cloud: {path}")
        if name.startswith(TEMP_PREFIX) or name.endswith(PARTIAL_SUFFIX):
            found.append(f"a temporary at a final path: {path}")
    have = versions(remote)
    lost = sorted(v[:40] for v in workload.required() if v not in have)
    if lost:
        in_trash = [v for v in lost if any(t.startswith(v) for t in sides.trash)]
        found.append(f"versions lost: {lost} (of which only in the local trash: {in_trash})")
    twice = sorted(v[:40] for v, n in have.items() if n > 1)
    if twice:
        found.append(f"versions held at more than one path: {twice}")
    folded, expected = fold_conflicts(remote), workload.expected
    if folded != expected:
        different = sorted(p for p in expected.keys() & folded.keys() if expected[p] != folded[p])
        found.append(
            "not the expected tree: missing "
            f"{sorted(expected.keys() - folded.keys())}, unexpected "
            f"{ {p: _head(folded[p]) for p in sorted(folded.keys() - expected.keys())} }, "
            f"different { {p: (_head(expected[p]), _head(folded[p])) for p in different} }"
        )
    for path in workload.deleted_paths:
        if path in remote:
            found.append(f"deleted on one side but back: {path}")
    return found


def _head(value: bytes | str) -> str:
    if isinstance(value, str):
        return value
    return f"{value[:32]!r}... ({len(value)} B)"


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
