"""The reconciler, row by row of its decision table, then as properties over random worlds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.sync.model import (
    BaseEntry,
    Conflict,
    DeleteLocal,
    DeleteRemote,
    Download,
    Kind,
    LocalEntry,
    MkdirLocal,
    MkdirRemote,
    MoveLocal,
    MoveRemote,
    Policy,
    Record,
    RemoteEntry,
    Skip,
    Upload,
)
from syncd.sync.paths import conflict_path
from syncd.sync.reconcile import reconcile
from syncd.sync.sides import Side, local_side, remote_side
from tests.sync_sim import DIR, World

POLICY = Policy(host="box", now="2026-11-26 175502")


def synced(tree: dict[str, str]) -> World:
    world = World()
    for path, content in sorted(tree.items()):
        world.put_local(path, content)
        world.put_remote(path, content)
    world.synced()
    return world


def kinds(world: World, policy: Policy = POLICY) -> list[tuple[str, str]]:
    return [(type(a).__name__, a.rel_path) for a in world.plan(policy).actions]


def converge(world: World, policy: Policy = POLICY) -> None:
    world.sync(policy)
    assert world.local == world.remote
    assert not world.plan(policy), "a converged world must plan nothing"


# --- the file rows ---------------------------------------------------------------------------


def test_row1_nothing_changed_plans_nothing() -> None:
    world = synced({"a.txt": "A", "d/b.txt": "B"})
    assert world.plan(POLICY).actions == ()


def test_row2_local_edit_uploads_over_the_base_version() -> None:
    world = synced({"a.txt": "A"})
    world.put_local("a.txt", "A2")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, Upload)
    assert action.replace == world.remote_meta["a.txt"]
    converge(world)
    assert world.remote["a.txt"] == "A2"


def test_row3_remote_edit_downloads_over_the_base_version() -> None:
    world = synced({"a.txt": "A"})
    world.put_remote("a.txt", "A2")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, Download)
    assert action.replace == world.local_meta["a.txt"]
    converge(world)
    assert world.local["a.txt"] == "A2"


def test_row4_same_edit_on_both_sides_is_recorded_after_comparing() -> None:
    world = synced({"a.txt": "A"})
    world.put_local("a.txt", "XY")
    world.put_remote("a.txt", "XY")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, Conflict) and action.compare_first
    converge(world)
    assert world.local == {"a.txt": "XY"}


def test_row5_different_edits_keep_both_remote_keeps_the_name() -> None:
    world = synced({"d/a.txt": "A"})
    world.put_local("d/a.txt", "local edit")
    world.put_remote("d/a.txt", "remote")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, Conflict)
    assert not action.compare_first  # sizes differ: no need to compare
    assert action.loser == "local"
    assert action.conflict_path == "d/a (conflicted copy 2026-11-26 175502 box).txt"
    converge(world)
    assert world.local["d/a.txt"] == "remote"
    assert world.local[action.conflict_path] == "local edit"


def test_row6_local_delete_deletes_the_remote_base_version() -> None:
    world = synced({"a.txt": "A", "b.txt": "B"})
    world.remove_local("a.txt")
    (action,) = world.plan(POLICY).actions
    assert action == DeleteRemote("a.txt", world.remote_meta["a.txt"])
    converge(world)
    assert world.remote == {"b.txt": "B"}


def test_row7_remote_delete_trashes_the_local_base_version() -> None:
    world = synced({"a.txt": "A", "b.txt": "B"})
    world.remove_remote("a.txt")
    (action,) = world.plan(POLICY).actions
    assert action == DeleteLocal("a.txt", world.local_meta["a.txt"])
    converge(world)
    assert world.local == {"b.txt": "B"}


def test_row8_deleted_on_both_sides_forgets_the_base() -> None:
    world = synced({"a.txt": "A"})
    world.remove_local("a.txt")
    world.remove_remote("a.txt")
    assert world.plan(POLICY).actions == (Record("a.txt", None, None),)
    converge(world)
    assert world.base == {}


def test_row9_remote_edit_beats_local_delete() -> None:
    world = synced({"a.txt": "A"})
    world.remove_local("a.txt")
    world.put_remote("a.txt", "A2")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, Download) and action.replace is None
    converge(world)
    assert world.local == {"a.txt": "A2"}


def test_row10_local_edit_beats_remote_delete() -> None:
    world = synced({"a.txt": "A"})
    world.put_local("a.txt", "A2")
    world.remove_remote("a.txt")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, Upload) and action.replace is None
    converge(world)
    assert world.remote == {"a.txt": "A2"}


def test_row11_and_12_new_files_travel_with_their_folders_first() -> None:
    world = synced({})
    world.put_local("l/new.txt", "L")
    world.put_remote("r/new.txt", "R")
    assert kinds(world) == [
        ("MkdirRemote", "l"),
        ("Upload", "l/new.txt"),
        ("MkdirLocal", "r"),
        ("Download", "r/new.txt"),
    ]
    converge(world)


def test_row13_first_sync_equal_files_are_compared_not_duplicated() -> None:
    world = World()
    world.put_local("same.txt", "S")
    world.put_remote("same.txt", "S")
    world.put_local("other.txt", "local")
    world.put_remote("other.txt", "remote!")
    plan = world.plan(POLICY)
    by_path = {a.rel_path: a for a in plan.actions}
    assert isinstance(by_path["same.txt"], Conflict) and by_path["same.txt"].compare_first
    assert isinstance(by_path["other.txt"], Conflict) and not by_path["other.txt"].compare_first
    converge(world)
    assert world.local["same.txt"] == "S"
    assert sorted(world.local) == [
        "other (conflicted copy 2026-11-26 175502 box).txt",
        "other.txt",
        "same.txt",
    ]


def test_touched_file_with_same_content_only_refreshes_the_base() -> None:
    world = synced({"a.txt": "A"})
    world.touch_local("a.txt")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, Record)
    assert action.local == world.local_meta["a.txt"]
    converge(world)


def test_upload_dates_unseen_are_adopted_from_the_listing() -> None:
    world = synced({"a.txt": "A"})
    entry = world.base["a.txt"]
    world.base["a.txt"] = BaseEntry(
        entry.kind, entry.size, entry.mtime_ns, entry.inode, entry.sha256, entry.remote_id, 0, 0
    )
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, Record) and action.remote == world.remote_meta["a.txt"]
    converge(world)
    assert world.base["a.txt"].remote_created == world.remote_meta["a.txt"].created


def test_upload_dates_unseen_but_size_differs_is_a_remote_change() -> None:
    base = BaseEntry(Kind.FILE, 3, 1, 1, "h", "id", 0, 0)
    assert remote_side(RemoteEntry(Kind.FILE, "id", 4, 5, 5), base) is Side.MODIFIED
    assert remote_side(RemoteEntry(Kind.FILE, "id", 3, 5, 5), base) is Side.UNCHANGED


def test_local_side_without_hash_counts_a_stat_change_as_modified() -> None:
    base = BaseEntry(Kind.FILE, 3, 1, 1, "h")
    assert local_side(LocalEntry(Kind.FILE, 3, 2, 1, None), base) is Side.MODIFIED
    assert local_side(LocalEntry(Kind.FILE, 3, 2, 1, "h"), base) is Side.UNCHANGED
    assert local_side(LocalEntry(Kind.FILE, 3, 1, 1, None), base) is Side.UNCHANGED


# --- folders -------------------------------------------------------------------------------


def test_local_folder_delete_goes_as_one_recursive_remote_delete() -> None:
    world = synced({"d/a": "1", "d/e/b": "2", "keep": "k"})
    world.remove_local("d")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, DeleteRemote) and action.rel_path == "d"
    assert [path for path, _ in action.subtree] == ["d/a", "d/e", "d/e/b"]
    converge(world)
    assert world.remote == {"keep": "k"}


def test_remote_folder_delete_goes_to_the_trash_in_one_move() -> None:
    world = synced({"d/a": "1", "d/e/b": "2"})
    world.remove_remote("d")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, DeleteLocal) and action.rel_path == "d"
    converge(world)
    assert world.local == {}


def test_row15_folder_deleted_locally_keeps_what_changed_remotely_inside() -> None:
    world = synced({"d/a": "1", "d/b": "2", "d/e/c": "3"})
    world.remove_local("d")
    world.put_remote("d/b", "2 edited")
    world.put_remote("d/new", "4")
    converge(world)
    assert world.local == {"d": DIR, "d/b": "2 edited", "d/new": "4"}


def test_row15_folder_deleted_remotely_keeps_what_changed_locally_inside() -> None:
    world = synced({"d/a": "1", "d/e/c": "3"})
    world.remove_remote("d")
    world.put_local("d/e/c", "3 edited")
    converge(world)
    assert world.remote == {"d": DIR, "d/e": DIR, "d/e/c": "3 edited"}


def test_row14_local_file_became_a_folder() -> None:
    world = synced({"x": "file"})
    world.remove_local("x")
    world.put_local("x/inner.txt", "I")
    plan_kinds = kinds(world)
    assert ("DeleteRemote", "x") in plan_kinds and ("MkdirRemote", "x") in plan_kinds
    converge(world)
    assert world.remote == {"x": DIR, "x/inner.txt": "I"}


def test_row14_remote_folder_became_a_file() -> None:
    world = synced({"x/inner.txt": "I"})
    world.remove_remote("x")
    world.put_remote("x", "file now")
    converge(world)
    assert world.local == {"x": "file now"}


def test_row14_type_change_against_an_edit_is_a_conflict_that_keeps_both() -> None:
    world = synced({"x": "file"})
    world.remove_local("x")
    world.put_local("x/inner.txt", "I")
    world.put_remote("x", "edited file")
    plan = world.plan(POLICY)
    assert [type(a) for a in plan.actions] == [Conflict]
    converge(world)
    copy = "x (conflicted copy 2026-11-26 175502 box)"
    assert world.local == {"x": "edited file", copy: DIR, f"{copy}/inner.txt": "I"}


def test_folder_created_on_both_sides_is_recorded() -> None:
    world = World()
    world.put_local("d", DIR)
    world.put_remote("d", DIR)
    assert kinds(world) == [("Record", "d")]


def test_file_against_folder_on_first_sync_keeps_both() -> None:
    world = World()
    world.put_local("n", "a file")
    world.put_remote("n/child", "c")
    converge(world)
    assert world.local["n/child"] == "c"
    assert world.local["n (conflicted copy 2026-11-26 175502 box)"] == "a file"


# --- moves ---------------------------------------------------------------------------------


def test_row16_local_rename_is_one_server_side_move() -> None:
    world = synced({"a.txt": "A"})
    world.move_local("a.txt", "b.txt")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, MoveRemote) and (action.src, action.dst) == ("a.txt", "b.txt")
    converge(world)
    assert world.remote == {"b.txt": "A"}


def test_row16_local_folder_move_is_one_call_for_the_whole_subtree() -> None:
    tree = {f"big/f{i}.txt": str(i) for i in range(50)} | {"dst": DIR}
    world = synced(tree)
    world.move_local("big", "dst/big2")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, MoveRemote) and (action.src, action.dst) == ("big", "dst/big2")
    converge(world)
    assert set(world.remote) == {"dst", "dst/big2"} | {f"dst/big2/f{i}.txt" for i in range(50)}


def test_row18_local_move_and_edit_moves_then_uploads() -> None:
    world = synced({"a.txt": "A"})
    world.move_local("a.txt", "b.txt")
    world.put_local("b.txt", "A edited")  # an editor may replace the inode; keep it here
    world.local_meta["b.txt"] = LocalEntry(
        Kind.FILE, 8, 99_000, world.base["a.txt"].inode, world.local_meta["b.txt"].sha256
    )
    assert isinstance(world.plan(POLICY).actions[0], MoveRemote)
    converge(world)
    assert world.remote == {"b.txt": "A edited"}


def test_row17_remote_rename_is_a_local_rename() -> None:
    world = synced({"a.txt": "A"})
    world.move_remote("a.txt", "b.txt")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, MoveLocal) and (action.src, action.dst) == ("a.txt", "b.txt")
    converge(world)
    assert world.local == {"b.txt": "A"}


def test_row17_remote_folder_move_is_one_local_rename() -> None:
    world = synced({f"src/f{i}": str(i) for i in range(20)} | {"other/x": "x"})
    world.move_remote("src", "other/moved")
    (action,) = world.plan(POLICY).actions
    assert isinstance(action, MoveLocal) and (action.src, action.dst) == ("src", "other/moved")
    converge(world)


def test_row17_a_folder_moved_into_a_new_folder_is_one_local_rename() -> None:
    """A user makes `archive/` in the web UI and drags `photos/` into it. The files are a
    batch upload (one size, one creation second), so only the folder tells them apart: the
    move must be seen whatever is new above its target, not matched file by file."""
    photos = {f"photos/{year}/img{i}.jpg": "JPEG" for year in ("2024", "2025") for i in range(10)}
    world = synced(photos | {"other.txt": "x"})
    for path in photos:
        world.base[path] = BaseEntry(**{**_fields(world.base[path]), "remote_created": 7})
        modified = world.remote_meta[path].modified
        world.remote_meta[path] = RemoteEntry(Kind.FILE, path, 4, 7, modified)
    world.remote["archive"] = DIR
    world.remote_meta["archive"] = RemoteEntry(Kind.DIR, "archive/")
    world.move_remote("photos", "archive/photos")
    assert kinds(world) == [("MkdirLocal", "archive"), ("MoveLocal", "archive/photos")]
    converge(world)
    moved = {f"archive/{path}": text for path, text in photos.items()}
    assert {p: c for p, c in world.local.items() if c != DIR} == moved | {"other.txt": "x"}


def test_remote_move_of_lookalike_files_is_not_guessed() -> None:
    world = synced({"a": "same", "b": "same"})
    # Two files of one size and creation date: a rename cannot be told apart.
    world.base["b"] = BaseEntry(**{**_fields(world.base["b"]), "remote_created": 7})
    world.base["a"] = BaseEntry(**{**_fields(world.base["a"]), "remote_created": 7})
    world.remote_meta["a"] = RemoteEntry(Kind.FILE, "a", 4, 7, world.remote_meta["a"].modified)
    world.remote_meta["b"] = RemoteEntry(Kind.FILE, "b", 4, 7, world.remote_meta["b"].modified)
    world.move_remote("a", "c")
    assert not any(isinstance(a, MoveLocal) for a in world.plan(POLICY).actions)
    converge(world)
    assert world.local == {"b": "same", "c": "same"}


def test_an_identity_once_shared_is_never_taken_for_a_move() -> None:
    world = synced({"a": "same"})
    world.base["a"] = BaseEntry(**{**_fields(world.base["a"]), "remote_created": 7})
    world.remote_meta["a"] = RemoteEntry(Kind.FILE, "a", 4, 7, world.remote_meta["a"].modified)
    world.move_remote("a", "c")
    assert [type(a) for a in world.plan(POLICY).actions] == [MoveLocal]  # unique: a move
    careful = Policy(host="box", now="2026-11-26 175502", shared_identities=frozenset({(4, 7)}))
    # Another file had it too (it left the base since): delete and download, no guess.
    assert not any(isinstance(a, MoveLocal) for a in world.plan(careful).actions)
    converge(world, careful)
    assert world.local == {"c": "same"}


def test_look_alike_files_are_no_evidence_of_a_folder_move_either() -> None:
    """Found by the engine state machine. `x/a` and `y` are two files of one size and one
    creation date. The cloud deleted folder `x` (edited here) and moved `y` into a new folder
    as `z/a`. Alike files are no evidence of a file move, nor of a folder move: taking `x`
    for moved to `z` renamed it there, uploaded its edit over `y`, and `y` was lost."""
    world = synced({"x/a": "L5", "y": "B2"})
    for path in ("x/a", "y"):
        world.base[path] = BaseEntry(**{**_fields(world.base[path]), "remote_created": 7})
        modified = world.remote_meta[path].modified
        world.remote_meta[path] = RemoteEntry(Kind.FILE, path, 2, 7, modified)
    world.put_local("x/a", "L6")
    world.remove_remote("x")
    world.remote["z"] = DIR
    world.remote_meta["z"] = RemoteEntry(Kind.DIR, "z/")
    world.move_remote("y", "z/a")
    assert not any(isinstance(a, MoveLocal) for a in world.plan(POLICY).actions)
    converge(world)
    assert world.local == {"x": DIR, "x/a": "L6", "z": DIR, "z/a": "B2"}


def test_a_look_alike_that_left_the_base_is_no_evidence_of_a_folder_move() -> None:
    """The same, one pass later (the engine state machine got there through an interrupted
    sync): `y` has left the base, and only `shared` remembers it looked like `x/a`."""
    world = synced({"x/a": "L5"})
    world.base["x/a"] = BaseEntry(**{**_fields(world.base["x/a"]), "remote_created": 7})
    world.remote_meta["x/a"] = RemoteEntry(
        Kind.FILE, "x/a", 2, 7, world.remote_meta["x/a"].modified
    )
    world.put_local("x/a", "L6")
    world.remove_remote("x")
    world.put_remote("z/a", "B2")
    world.remote_meta["z/a"] = RemoteEntry(Kind.FILE, "z/a", 2, 7, 99)
    assert [type(a) for a in world.plan(POLICY).actions] == [MoveLocal]  # unique: a move
    careful = Policy(host="box", now="2026-11-26 175502", shared_identities=frozenset({(2, 7)}))
    assert not any(isinstance(a, MoveLocal) for a in world.plan(careful).actions)
    converge(world, careful)
    assert world.local == {"x": DIR, "x/a": "L6", "z": DIR, "z/a": "B2"}


def _overlapping_moves(actions: tuple[object, ...]) -> list[tuple[str, str]]:
    moves = [a for a in actions if isinstance(a, MoveLocal | MoveRemote)]
    mkdirs = [a.rel_path for a in actions if isinstance(a, MkdirLocal | MkdirRemote)]
    paths = [(m.src, m.dst) for m in moves]
    clashes = [
        (p, q)
        for i, move in enumerate(paths)
        for other in paths[i + 1 :]
        for p in move
        for q in other
        if p == q or p.startswith(q + "/") or q.startswith(p + "/")
    ]
    clashes += [(m.dst, d) for m in moves for d in mkdirs if m.dst == d]
    return clashes


def test_moves_into_a_folder_that_is_itself_moved_wait_for_the_next_pass() -> None:
    """Found by the engine state machine: `b` deleted, `d.md` made (and given b's freed
    inode, as ext4 does), `a` moved into it. That reads as b -> d.md plus a -> d.md/a; in one
    plan the second move's mkdir of d.md collided with the first move's target."""
    world = synced({"a": DIR, "b/a/a": DIR})
    world.remove_local("b")
    world.put_local("d.md", DIR)
    reused = world.base["b"].inode
    world.local_meta["d.md"] = LocalEntry(Kind.DIR, inode=reused)
    world.move_local("a", "d.md/a")
    plan = world.plan(POLICY)
    assert not _overlapping_moves(plan.actions), plan
    converge(world)
    assert world.remote == {"d.md": DIR, "d.md/a": DIR}


def test_a_file_moved_in_the_cloud_into_a_folder_moved_locally_follows_the_folder() -> None:
    world = synced({"X": "x", "S/f": "F", "o": "o"})
    world.move_local("S", "T")
    world.move_remote("X", "S/y")
    plan = world.plan(POLICY)
    assert not _overlapping_moves(plan.actions), plan
    converge(world)
    # One move per pass: S -> T carries S/y along, then X is renamed locally to T/y.
    assert world.local == {"o": "o", "T": DIR, "T/f": "F", "T/y": "x"}


def test_row19_moved_to_two_places_keeps_both_never_deletes_both() -> None:
    world = synced({"a": "A"})
    world.move_local("a", "b")
    world.move_remote("a", "c")
    converge(world)
    assert world.local == {"b": "A", "c": "A"}


# --- safety --------------------------------------------------------------------------------


def test_row22_unreadable_folder_is_never_deleted_remotely() -> None:
    world = synced({"d/a": "1", "d/b": "2"})
    # The scanner could not list d: it reports it unreadable and gives no entries below.
    world.remove_local("d/a")
    world.remove_local("d/b")
    plan = reconcile(world.local_meta, world.base, world.remote_meta, POLICY, skip=frozenset({"d"}))
    assert all(isinstance(a, Skip) for a in plan.actions)
    assert not plan


def test_skipped_child_keeps_its_deleted_folder_alive() -> None:
    world = synced({"d/a": "1", "d/b": "2"})
    world.remove_remote("d")
    plan = reconcile(
        world.local_meta, world.base, world.remote_meta, POLICY, skip=frozenset({"d/a"})
    )
    assert [type(a) for a in plan.actions] == [Skip, DeleteLocal]
    assert plan.actions[1].rel_path == "d/b"


def test_blocked_move_falls_back_to_nothing_for_its_paths() -> None:
    world = synced({"a": "A", "z": "Z"})
    world.move_local("a", "b")
    world.put_local("z", "Z2")
    plan = reconcile(
        world.local_meta, world.base, world.remote_meta, POLICY, skip=frozenset({"a", "b"})
    )
    assert [type(a) for a in plan.actions] == [Skip, Skip, Upload]


# --- conflict names and policies -------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel_path", "expected"),
    [
        ("a.txt", "a (conflicted copy 2026-11-26 175502 box).txt"),
        ("d/archive.tar.gz", "d/archive.tar (conflicted copy 2026-11-26 175502 box).gz"),
        (".bashrc", ".bashrc (conflicted copy 2026-11-26 175502 box)"),
        ("README", "README (conflicted copy 2026-11-26 175502 box)"),
    ],
)
def test_conflict_names(rel_path: str, expected: str) -> None:
    assert conflict_path(rel_path, POLICY.now, POLICY.host, set()) == expected


def test_conflict_name_never_reuses_a_taken_path() -> None:
    first = conflict_path("a.txt", POLICY.now, POLICY.host, set())
    assert conflict_path("a.txt", POLICY.now, POLICY.host, {first}) == (
        "a (conflicted copy 2026-11-26 175502 box 2).txt"
    )


@pytest.mark.parametrize(
    ("policy", "loser", "name_holder"),
    [
        ("keep-both", "local", "remote"),
        ("remote-wins", "local", "remote"),
        ("local-wins", "remote", "local"),
    ],
)
def test_conflict_policies_choose_who_keeps_the_name(
    policy: str, loser: str, name_holder: str
) -> None:
    chosen = Policy(conflict_policy=policy, host="box", now="2026-11-26 175502")  # type: ignore[arg-type]
    world = synced({"a.txt": "A"})
    world.put_local("a.txt", "local!")
    world.put_remote("a.txt", "remote")
    (action,) = world.plan(chosen).actions
    assert isinstance(action, Conflict) and action.loser == loser
    converge(world, chosen)
    assert world.local["a.txt"] == ("local!" if name_holder == "local" else "remote")
    assert sorted(world.local.values()) == ["local!", "remote"]


def test_newer_wins_keeps_the_newer_version_under_the_name() -> None:
    chosen = Policy(conflict_policy="newer-wins", host="box", now="2026-11-26 175502")
    world = synced({"a.txt": "A"})
    world.put_remote("a.txt", "remote")
    world.put_local("a.txt", "local!")
    world.local_meta["a.txt"] = LocalEntry(
        Kind.FILE, 6, (world.remote_meta["a.txt"].modified + 10) * 10**9, 1, "x"
    )
    (action,) = world.plan(chosen).actions
    assert isinstance(action, Conflict) and action.loser == "remote"


# --- properties ----------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c.txt", "d"])
PATHS = st.lists(NAMES, min_size=1, max_size=3).map("/".join)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[World, set[str]]:
    """A synced tree, then random edits on each side; also the versions only one side holds."""
    world = World()
    counter = iter(range(10**6))
    tree: dict[str, str] = {}
    for path in draw(st.lists(PATHS, max_size=8)):
        if any(p == path or p.startswith(path + "/") or path.startswith(p + "/") for p in tree):
            continue
        tree[path] = f"v{next(counter)}"
    for path, content in sorted(tree.items()):
        world.put_local(path, content)
        world.put_remote(path, content)
    world.synced()

    for side in ("local", "remote"):
        for op, path, other in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["write", "delete", "move", "touch", "mkdir"]), PATHS, PATHS
                ),
                max_size=6,
            )
        ):
            files = world.local if side == "local" else world.remote
            put = world.put_local if side == "local" else world.put_remote
            remove = world.remove_local if side == "local" else world.remove_remote
            move = world.move_local if side == "local" else world.move_remote
            blocked = any(
                files.get(p) not in (None, DIR) for p in _prefixes(path)
            )  # a file where a folder would have to be
            if op == "write" and not blocked and files.get(path) != DIR:
                put(path, f"v{next(counter)}")
            elif op == "mkdir" and not blocked and path not in files:
                put(path, DIR)
            elif op == "delete" and path in files:
                remove(path)
            elif op == "touch" and side == "local" and files.get(path) not in (None, DIR):
                world.touch_local(path)
            elif (
                op == "move"
                and path in files
                and other not in files
                and not other.startswith(path + "/")
                and not any(files.get(p) not in (None, DIR) for p in _prefixes(other))
            ):
                for parent in _prefixes(other):
                    if parent not in files:
                        put(parent, DIR)
                move(path, other)
    # Every write makes a unique content, so a version one side holds that no base row holds
    # is one the other side has never seen: it must survive. Base versions may be superseded
    # (edited, deleted or moved by a side) and are not counted.
    base_versions = set(world.base_content.values())
    only_one_side = {
        content
        for tree_ in (world.local, world.remote)
        for content in tree_.values()
        if content != DIR and content not in base_versions
    }
    return world, only_one_side


def _prefixes(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _fields(entry: BaseEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in BaseEntry.__slots__}


PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(worlds(), st.sampled_from(["keep-both", "newer-wins", "local-wins", "remote-wins"]))
def test_property_sync_converges_and_loses_no_one_sided_version(
    case: tuple[World, set[str]], conflict_policy: str
) -> None:
    world, only_one_side = case
    policy = Policy(conflict_policy=conflict_policy, host="box", now="2026-11-26 175502")  # type: ignore[arg-type]
    world.sync(policy)
    assert world.local == world.remote
    assert not world.plan(policy)
    survivors = set(world.local.values())
    assert only_one_side <= survivors, only_one_side - survivors


@PROPERTY_SETTINGS
@given(worlds())
def test_property_plan_is_deterministic(case: tuple[World, set[str]]) -> None:
    world, _ = case
    assert world.plan(POLICY) == world.plan(POLICY)


@PROPERTY_SETTINGS
@given(worlds())
def test_property_mirror_symmetry_of_simple_rows(case: tuple[World, set[str]]) -> None:
    """Swapping sides swaps uploads with downloads for plain edits and creates."""
    world, _ = case
    plan = world.plan(POLICY)
    uploads = {a.rel_path for a in plan.actions if isinstance(a, Upload | MkdirRemote)}
    downloads = {a.rel_path for a in plan.actions if isinstance(a, Download | MkdirLocal)}
    assert not (uploads & downloads)


def test_a_file_moved_over_one_the_cloud_deleted_is_moved_in_the_cloud() -> None:
    """Found by the long state machine run: the moved version read as the old file's
    content ("unchanged"), so it went with the cloud's delete, and the cloud copy at its
    old path went with the local move: gone from both sides."""
    world = synced({"a": "same", "b/b": "same"})
    world.move_local("b/b", "a")  # over `a`, which the cloud deletes meanwhile
    world.remove_remote("a")
    actions = world.plan(POLICY).actions
    assert [(type(a).__name__, a.rel_path) for a in actions] == [("MoveRemote", "a")]
    converge(world)
    assert world.local == world.remote == {"a": "same", "b": DIR}


def _twins() -> World:
    """`a/b` and `c/b` synced, with the same size and dates to the second: all the API shows
    of two different files."""
    world = synced({"a/b": "B2", "c/b": "L4"})
    twin = world.remote_meta["a/b"]
    for path in ("a/b", "c/b"):
        world.remote_meta[path] = RemoteEntry(Kind.FILE, path, twin.size, twin.created, 9)
    world.synced()
    return world


def test_a_cloud_file_moved_over_a_look_alike_is_not_overwritten() -> None:
    """Found by the state machine: two files of one size and the same second; the cloud
    deleted one's folder and moved the other's folder in its place. The moved file read as
    the deleted one, unchanged, so a local edit there was uploaded over it: gone for good."""
    world = _twins()
    world.put_local("c/b", "L5")
    world.remove_remote("c")
    world.move_remote("a", "c")
    twin = world.base["a/b"]  # a cloud move keeps the size and the dates
    world.remote_meta["c/b"] = RemoteEntry(Kind.FILE, "c/b", twin.size, twin.remote_created, 9)
    actions = world.plan(POLICY).actions
    assert not any(isinstance(a, Upload) and a.replace is not None for a in actions), actions
    (aside,) = [a for a in actions if isinstance(a, Conflict)]
    assert (aside.rel_path, aside.loser) == ("c/b", "remote")
    converge(world)
    # The edit takes the name, as any local edit would; the cloud file is kept beside it.
    assert world.local["c/b"] == "L5" and world.local[aside.conflict_path] == "B2"


def test_a_look_alike_is_only_suspected_when_its_twin_left_the_cloud() -> None:
    world = _twins()
    world.put_local("c/b", "L5")
    # Both still where they were: an ordinary local edit, uploaded over the cloud copy.
    assert kinds(world) == [("Upload", "c/b")]
