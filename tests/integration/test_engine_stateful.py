"""A hypothesis state machine of the whole engine: a real folder, the emulator, the real store.

Rules change either side the way a user or another client would, and sync, between restarts:

- local: write a file (fresh content; in place, or a new file renamed over the old one), copy
  one (same bytes, a new inode), touch one (same bytes, new mtime), mkdir, delete a file,
  delete a folder tree, move or rename a file or a folder anywhere in the root;
- remote, straight into the emulator's store as another client would leave it: upload or
  replace a file (a replace is delete + upload, so the new version has a new creation date),
  mkdir, delete a file or a folder, move or rename a file or a folder (a file's move bumps its
  lastUpdateDate, as the service does);
- both sides: the same new version written at the same path on each (a false conflict);
- sync: `PairEngine.sync()`, on the engine kept from the previous sync (as the daemon does)
  or on a fresh store and engine (as a restart does); `restart` closes the store and drops
  the engine between operations (and may open and prepare a new one at once);
  `interrupted_sync` stops a sync after a few actions (as SIGTERM does) and then runs one to
  the end on a fresh engine. Every sync may delete any share of a side
  (`allow_mass_delete`): the brake has its own tests.

Remote versions get explicit, increasing creation and update dates one second apart, in the
future. The API has 1-second dates and no checksum: a version replaced within the same second
by one of the same size is invisible to any client, and a file deleted while another of the
same size is created in the same second looks exactly like a move. Giving the other client
distinct seconds keeps the test about the engine, not about that limit. Local operations need
no such care: the scanner sees nanosecond mtimes and inodes.

The model. Every write makes a new version (unique bytes). The base is the tree both sides
held after the last sync (empty before the first). Between two syncs the model follows each
file on each side back to its origin: the base path it was at, or none for a file written or
copied since (fresh). Moves carry origins along; a move of a cloud file also marks it bumped
(its update date changed). Just before each sync, the trees are read from disk and the cloud:

1. Nothing is lost. A version must still be somewhere after the sync (at its path, at another
   path after a move, or as a conflicted copy) unless every file holding it may go, where
   - a fresh file may never go;
   - a file still at its base path may go only if the other side no longer holds that
     version at that path (it deleted, overwrote or moved it: rows 6, 7 and 17);
   - a file moved since may go only if the other side's files from the same base path no
     longer hold that version (it deleted or overwrote it; row 18 allows "move, then apply
     the edit"). Another file of the same content on that side, such as the twin a conflict
     can leave, is judged on its own.
   So a version may disappear only if it was the synced base version and since then one
   side dropped it and the other did not change it (a move or a touch does not change it).
2. Deletes and overwrites do travel: a base version still at its base path, unmoved, on one
   side, and no longer there on the other, is not at that path after the sync. (Without this,
   an engine that never deletes anything would pass rule 1.) A cloud file moved away and back
   is left out: the move bumped its update date exactly as an edit would, and with no
   checksum an edit it is; it then beats the delete (row 9).
3. Every sync converges: it reports no failure, both trees are equal (files by content, and
   folders), no `.syncd-partial` or `.syncd-upload-*` temporary is left, the cloud holds no
   `name(1)` duplicate, and a dry run on a fresh engine plans nothing.

An interrupted sync must lose nothing in between (rule 1, counting what either side holds
then), and the sync that resumes it must end as an uninterrupted one would: rules 1 to 3,
against the trees as they were before the interrupted sync. Versions written and dropped by
one side between two syncs were never seen by the engine and are not tracked: only what each
side holds when a sync starts counts.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import pprint
import re
import shutil
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from syncd.cloud.client import CloudClient
from syncd.emulator import Emulator
from syncd.store import Store
from syncd.sync.engine import PairEngine
from syncd.sync.executor import Outcome
from syncd.sync.localfs import PARTIAL_SUFFIX
from syncd.sync.options import SyncOptions
from syncd.sync.remote import TEMP_PREFIX
from tests.cloud.helpers import make_settings, seed_token
from tests.integration.harness import DIR, REMOTE_ROOT, Harness, read_local_tree

Tree = dict[str, bytes | str]
Side = Literal["local", "cloud"]
Expectations = tuple[set[bytes], set[tuple[str, bytes]]]

NAMES = ("a", "b", "c.txt", "d.md")
NEW_PATHS = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join)
PADS = st.integers(0, 6)  # a small range of sizes: many same-size files
# Items are picked by index (modulo what exists), so the draws never depend on the state and
# a failing case replays the same choices even if the engine took another (equally valid) turn.
PICKS = st.integers(0, 31)
POLICIES = ("keep-both", "newer-wins", "local-wins", "remote-wins")
# Far enough ahead that no date the emulator stamps itself (uploads, moves) can equal one.
REMOTE_EPOCH = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
DUPLICATE_NAME = re.compile(r"\(\d+\)(\.[^.]*)?$")


def is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def ancestors(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def can_hold(tree: Tree, path: str) -> bool:
    """No file sits where one of `path`'s folders would have to be."""
    return all(tree.get(folder, DIR) == DIR for folder in ancestors(path))


def files_of(tree: Tree) -> list[str]:
    return sorted(path for path, value in tree.items() if value != DIR)


def pick(paths: list[str], index: int) -> str | None:
    return paths[index % len(paths)] if paths else None


def target(files: list[str], index: int, new_path: str) -> str:
    """An existing file (to overwrite) for even indexes, else `new_path`."""
    return files[index // 2 % len(files)] if files and index % 2 == 0 else new_path


def versions(tree: Tree) -> set[bytes]:
    return {value for value in tree.values() if isinstance(value, bytes)}


def short(tree: Tree) -> dict[str, str]:
    return {
        path: value if isinstance(value, str) else value.decode() for path, value in tree.items()
    }


def explain(**parts: object) -> str:
    """A failure message pytest shows whole (it shortens the repr of other objects)."""
    return "\n" + pprint.pformat(parts, width=100)


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="syncd-stateful-"))
        self.emulator = Emulator()
        self.client: CloudClient | None = None
        self.store: Store | None = None
        self.engine: PairEngine | None = None
        try:
            self.emulator.start()
            token_file = self.tmp / "token" / "token.json"
            cloud = make_settings(self.emulator, "http://127.0.0.1:8976/callback", token_file)
            seed_token(self.emulator, token_file)
            self.client = CloudClient.from_settings(cloud)
        except BaseException:
            self._cleanup()
            raise
        options = SyncOptions(max_delete_percent=100)
        self.h = Harness(self.tmp, self.emulator, self.client, options=options)
        self.h.root.mkdir()
        # Each pass labels its conflicted copies with a later second than the one before, as
        # wall time does. Under a frozen clock every copy of a path gets one name, so a copy
        # made after an interrupted pass could take the name of one the user just deleted, a
        # clash that needs the user and two passes inside one second.
        ticks = itertools.count()
        self.h.now = lambda: datetime(2026, 11, 26, 17, 55, 2) + timedelta(seconds=next(ticks))
        self.counter = 0
        self.base: Tree = {}  # both trees after the last sync
        # Every file on each side -> the base path it came from (None: written since).
        self.origin: dict[Side, dict[str, str | None]] = {"local": {}, "cloud": {}}
        self.bumped: set[str] = set()  # cloud files moved since the last sync

    # --- plumbing ------------------------------------------------------------------------

    def _version(self, side: str, pad: int) -> bytes:
        self.counter += 1
        return f"{side}{self.counter}".encode() + b"." * pad

    def _remote_time(self) -> datetime:
        return REMOTE_EPOCH + timedelta(seconds=self.counter)

    def _local_path(self, rel_path: str) -> Path:
        return self.h.root / rel_path

    def _remote(self, rel_path: str) -> str:
        return f"{REMOTE_ROOT}/{rel_path}"

    def _local_tree(self) -> Tree:
        """The local tree, leaving out the partial downloads an interrupted sync may keep."""
        return read_local_tree(self.h.root)[0]

    def _open_engine(self) -> PairEngine:
        self._close_engine()
        self.store = Store.open(self.h.db_path)
        self.engine = self.h.engine(self.store)
        return self.engine

    def _close_engine(self) -> None:
        if self.store is not None:
            self.store.close()
        self.store = None
        self.engine = None

    def _cleanup(self) -> None:
        self._close_engine()
        if self.client is not None:
            self.client.close()
            self.client = None
        self.emulator.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def teardown(self) -> None:
        try:
            # A final sync, unless a step already failed (its error is the one to report).
            if sys.exc_info()[1] is None:
                self._sync(fresh=True)
        finally:
            self._cleanup()

    # --- the model's bookkeeping -----------------------------------------------------------

    def _wrote(self, side: Side, path: str) -> None:
        self.origin[side][path] = None
        if side == "cloud":
            self.bumped.discard(path)

    def _deleted(self, side: Side, path: str) -> None:
        for gone in [p for p in self.origin[side] if is_within(p, path)]:
            del self.origin[side][gone]
        if side == "cloud":
            self.bumped = {p for p in self.bumped if not is_within(p, path)}

    def _moved(self, side: Side, src: str, dst: str, is_file: bool) -> None:
        def rekey(path: str) -> str:
            return dst + path[len(src) :] if is_within(path, src) else path

        self.origin[side] = {rekey(p): origin for p, origin in self.origin[side].items()}
        if side == "cloud":
            self.bumped = {rekey(p) for p in self.bumped} | ({dst} if is_file else set())

    # --- setup -----------------------------------------------------------------------------

    @initialize(policy=st.sampled_from(POLICIES), transfers=st.sampled_from([1, 3]))
    def configure(self, policy: str, transfers: int) -> None:
        """One transfer at a time replays exactly (the order of outcomes is fixed); three
        in parallel is what the daemon does."""
        self.h.pair = dataclasses.replace(self.h.pair, conflict_policy=policy)  # type: ignore[arg-type]
        self.h.options = dataclasses.replace(self.h.options, transfers=transfers)

    # --- local operations ------------------------------------------------------------------

    def _write_local(self, path: str, content: bytes, in_place: bool) -> None:
        file = self._local_path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        if in_place:
            file.write_bytes(content)
        else:  # as editors save: a new file (a new inode) renamed over the old one
            temp = self.tmp / "editor-save"
            temp.write_bytes(content)
            os.replace(temp, file)
        self._wrote("local", path)

    @rule(index=PICKS, new_path=NEW_PATHS, pad=PADS, in_place=st.booleans())
    def local_write(self, index: int, new_path: str, pad: int, in_place: bool) -> None:
        tree = self._local_tree()
        path = target(files_of(tree), index, new_path)
        if tree.get(path) != DIR and can_hold(tree, path):
            content = self._version("L", pad)
            note(f"local: write {path} = {content.decode()}")
            self._write_local(path, content, in_place)

    @rule(index=PICKS, dst=NEW_PATHS)
    def local_copy(self, index: int, dst: str) -> None:
        tree = self._local_tree()
        src = pick(files_of(tree), index)
        if src is not None and dst not in tree and can_hold(tree, dst):
            note(f"local: copy {src} -> {dst}")
            self._write_local(dst, self._local_path(src).read_bytes(), in_place=True)

    @rule(index=PICKS)
    def local_touch(self, index: int) -> None:
        path = pick(files_of(self._local_tree()), index)
        if path is not None:
            note(f"local: touch {path}")
            file = self._local_path(path)
            mtime = file.stat().st_mtime_ns + 1_000_000_000
            os.utime(file, ns=(mtime, mtime))

    @rule(path=NEW_PATHS)
    def local_mkdir(self, path: str) -> None:
        tree = self._local_tree()
        if path not in tree and can_hold(tree, path):
            note(f"local: mkdir {path}")
            self._local_path(path).mkdir(parents=True)

    @rule(index=PICKS)
    def local_delete(self, index: int) -> None:
        tree = self._local_tree()
        path = pick(sorted(tree), index)
        if path is None:
            return
        note(f"local: delete {path}")
        if tree[path] == DIR:
            shutil.rmtree(self._local_path(path))
        else:
            self._local_path(path).unlink()
        self._deleted("local", path)

    @rule(index=PICKS, dst=NEW_PATHS)
    def local_move(self, index: int, dst: str) -> None:
        tree = self._local_tree()
        src = pick(sorted(tree), index)
        if src is None or dst in tree or not can_hold(tree, dst) or is_within(dst, src):
            return
        note(f"local: move {src} -> {dst}")
        moved = self._local_path(dst)
        moved.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self._local_path(src), moved)
        self._moved("local", src, dst, tree[src] != DIR)

    # --- remote operations -----------------------------------------------------------------

    def _write_remote(self, path: str, content: bytes) -> None:
        when = self._remote_time()
        self.emulator.put_file(self._remote(path), content, created=when, modified=when)
        self._wrote("cloud", path)

    @rule(index=PICKS, new_path=NEW_PATHS, pad=PADS)
    def remote_write(self, index: int, new_path: str, pad: int) -> None:
        tree = self.h.remote_tree()
        path = target(files_of(tree), index, new_path)
        if tree.get(path) != DIR and can_hold(tree, path):
            content = self._version("R", pad)
            note(f"cloud: write {path} = {content.decode()}")
            self._write_remote(path, content)

    @rule(path=NEW_PATHS)
    def remote_mkdir(self, path: str) -> None:
        tree = self.h.remote_tree()
        if path not in tree and can_hold(tree, path):
            note(f"cloud: mkdir {path}")
            self.emulator.mkdir(self._remote(path))

    @rule(index=PICKS)
    def remote_delete(self, index: int) -> None:
        path = pick(sorted(self.h.remote_tree()), index)
        if path is not None:
            note(f"cloud: delete {path}")
            self.emulator.delete(self._remote(path))
            self._deleted("cloud", path)

    @rule(index=PICKS, dst=NEW_PATHS)
    def remote_move(self, index: int, dst: str) -> None:
        tree = self.h.remote_tree()
        src = pick(sorted(tree), index)
        if src is None or dst in tree or not can_hold(tree, dst) or is_within(dst, src):
            return
        note(f"cloud: move {src} -> {dst}")
        self.emulator.move(self._remote(src), self._remote(dst))
        self._moved("cloud", src, dst, tree[src] != DIR)

    # --- both sides ------------------------------------------------------------------------

    @rule(path=NEW_PATHS, pad=PADS)
    def both_write(self, path: str, pad: int) -> None:
        """The same new version lands on both sides (a false conflict to recognise)."""
        local, remote = self._local_tree(), self.h.remote_tree()
        if all(tree.get(path) != DIR and can_hold(tree, path) for tree in (local, remote)):
            content = self._version("B", pad)
            note(f"both: write {path} = {content.decode()}")
            self._write_local(path, content, in_place=False)
            self._write_remote(path, content)

    # --- syncs and restarts ----------------------------------------------------------------

    @rule(fresh=st.booleans())
    def sync(self, fresh: bool) -> None:
        self._sync(fresh)

    @rule(reopen=st.booleans())
    def restart(self, reopen: bool) -> None:
        self._close_engine()
        if reopen:
            self._open_engine().prepare()

    @rule(after=st.integers(1, 4))
    def interrupted_sync(self, after: int) -> None:
        """Stop a sync after `after` actions, as SIGTERM does, then sync to the end."""
        local, remote = self._local_tree(), self.h.remote_tree()
        expected = self._expectations(local, remote)
        engine = self._open_engine()
        done = 0

        def count(outcome: Outcome) -> None:
            nonlocal done
            done += 1
            if done >= after:
                engine.stop.set()

        engine.on_outcome = count
        report = engine.sync(allow_mass_delete=True)
        self._close_engine()  # a stopped engine is done
        assert not report.failures and report.offline is None, explain(
            failures=report.failures, offline=report.offline
        )
        now_local, now_remote = self._local_tree(), self.h.remote_tree()
        lost = expected[0] - versions(now_local) - versions(now_remote)
        assert not lost, explain(
            lost=sorted(v.decode() for v in lost),
            before_local=short(local),
            before_cloud=short(remote),
            now_local=short(now_local),
            now_cloud=short(now_remote),
        )
        self._sync(fresh=True, before=(local, remote, expected))

    def _sync(self, fresh: bool, before: tuple[Tree, Tree, Expectations] | None = None) -> None:
        if before is None:
            local, remote = self._local_tree(), self.h.remote_tree()
            keep, leave = self._expectations(local, remote)
        else:
            local, remote, (keep, leave) = before
        engine = self.engine if self.engine is not None and not fresh else self._open_engine()
        report = engine.sync(allow_mass_delete=True)
        assert report.ok, explain(failures=report.failures, offline=report.offline)
        tree = self._check_converged()
        context = {
            "before_local": short(local),
            "before_cloud": short(remote),
            "base": short(self.base),
            "after": short(tree),
        }
        lost = keep - versions(tree)
        assert not lost, explain(lost=sorted(v.decode() for v in lost), **context)
        stayed = {path: v.decode() for path, v in leave if tree.get(path) == v}
        assert not stayed, explain(not_deleted=stayed, **context)
        self.base = tree
        files = {path: path for path in files_of(tree)}
        self.origin = {"local": dict(files), "cloud": dict(files)}
        self.bumped = set()

    def _expectations(self, local: Tree, remote: Tree) -> Expectations:
        """The versions that must survive (rule 1), and where dropped ones must go (rule 2)."""
        trees: dict[Side, Tree] = {"local": local, "cloud": remote}
        for side, tree in trees.items():  # the model follows every file
            assert set(files_of(tree)) == set(self.origin[side]), explain(
                side=side, files=files_of(tree), model=self.origin[side]
            )
        origins = {side: self._origins(side, tree) for side, tree in trees.items()}
        may_go: dict[bytes, list[bool]] = defaultdict(list)
        leave: set[tuple[str, bytes]] = set()
        sides: tuple[tuple[Side, Side], ...] = (("local", "cloud"), ("cloud", "local"))
        for side, other in sides:
            mine, theirs = trees[side], trees[other]
            for path, version in mine.items():
                if not isinstance(version, bytes):
                    continue
                origin = origins[side][path]
                if origin is None:
                    may_go[version].append(False)  # fresh
                elif origin == path:
                    may_go[version].append(theirs.get(path) != version)
                    unmoved = side == "local" or path not in self.bumped
                    if unmoved and theirs.get(path) != version:
                        leave.add((path, version))
                else:
                    # The other side's files from the same base path: another file of the
                    # same content there (a conflicted copy's twin, say) is not this one.
                    kept_there = any(
                        theirs[twin] == version
                        for twin, twin_origin in origins[other].items()
                        if twin_origin == origin
                    )
                    may_go[version].append(not kept_there)
        keep = {version for version, flags in may_go.items() if not all(flags)}
        return keep, leave

    def _origins(self, side: Side, tree: Tree) -> dict[str, str | None]:
        """Each file's base path, or None for a fresh one. A file written back with the
        content it had at the last sync (a copy of a copy, say) counts as that base file:
        versions are contents, so that is no change (the engine records it, as for a touched
        file) and a deletion on the other side may take it, like any unchanged file."""
        return {
            path: path if origin is None and self.base.get(path) == tree[path] else origin
            for path, origin in self.origin[side].items()
        }

    def _check_converged(self) -> Tree:
        local, remote = self.h.local_tree(), self.h.remote_tree()  # local_tree: no partials
        for path in remote:
            name = path.rsplit("/", 1)[-1]
            assert not name.startswith(TEMP_PREFIX), f"upload temporary left: {path}"
            assert not name.endswith(PARTIAL_SUFFIX), f"partial uploaded: {path}"
            assert not DUPLICATE_NAME.search(name), f"duplicate in the cloud: {path}"
        assert local == remote, explain(
            local_only=short(dict(local.items() - remote.items())),
            cloud_only=short(dict(remote.items() - local.items())),
        )
        again = self.h.sync(dry_run=True)
        assert again.plan is not None and not again.plan, explain(plan=again.plan)
        return local


FAST = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
LONG = settings(FAST, max_examples=2000, stateful_step_count=80)


# A failing case is shrunk for up to five minutes: the timeouts leave room for that, so that
# the report shows the minimal case rather than a stack dump.
@pytest.mark.timeout(900)
def test_engine_state_machine() -> None:
    run_state_machine_as_test(SyncMachine, settings=FAST)


@pytest.mark.slow
@pytest.mark.timeout(4 * 3600)
def test_engine_state_machine_long() -> None:
    run_state_machine_as_test(SyncMachine, settings=LONG)
