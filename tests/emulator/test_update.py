"""Create folder, rename / move / copy (POST /folders/{id}, POST /files/{id}), delete."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from syncd.emulator import Emulator
from tests.emulator.conftest import APP, APP_ID, b64id, listing


def fid(path: str) -> str:
    return b64id(APP + path)


def post(
    http: httpx.Client, emulator: Emulator, what: str, item: str, **body: object
) -> httpx.Response:
    return http.post(f"{emulator.api_base}/{what}/{item}", json=body)


# -- create ----------------------------------------------------------------------------------


def test_create_folder(emulator: Emulator, http: httpx.Client) -> None:
    r = http.post(emulator.api_base + "/folders", json={"name": "new"})
    assert r.status_code == 201
    assert r.json() == {"id": fid("new/"), "parentId": APP_ID, "name": "new", "files": [],
                        "subfolders": []}  # fmt: skip
    r = http.post(
        emulator.api_base + "/folders/", json={"name": "in", "parentFolderId": fid("new/")}
    )
    assert r.status_code == 201 and r.json()["parentId"] == fid("new/")
    assert emulator.listing()["new/in"].kind == "folder"


def test_create_folder_conflict(emulator: Emulator, http: httpx.Client) -> None:
    emulator.mkdir("dup")
    r = http.post(emulator.api_base + "/folders", json={"name": "dup"})
    assert r.status_code == 400
    assert r.json()["code"] == 800
    assert r.json()["message"] == "PDK_CW_0001-ALREADY_EXISTS"
    assert isinstance(r.json()["description"], str)


def test_conflict_status_is_configurable(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(conflict_status=409)
    emulator.mkdir("dup")
    headers = {"Authorization": "Bearer " + emulator.issue_token()["access_token"]}
    r = httpx.post(emulator.api_base + "/folders", json={"name": "dup"}, headers=headers)
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, 23),
        ({"name": None}, 23),
        ({"name": ""}, 24),
        ({"name": 5}, 24),
        ({"name": "a/b"}, 24),
        ({"name": "x\x00"}, 24),
        ({"name": "."}, 24),
        ({"name": ".."}, 24),
        ({"name": "ok", "parentFolderId": 7}, 24),
    ],
)
def test_create_folder_bad_names(
    emulator: Emulator, http: httpx.Client, body: dict[str, object], code: int
) -> None:
    r = http.post(emulator.api_base + "/folders", json=body)
    assert r.status_code == 400
    assert r.json()["code"] == code


def test_lone_surrogate_names_are_refused(emulator: Emulator, http: httpx.Client) -> None:
    r = http.post(emulator.api_base + "/folders", content=b'{"name": "bad\\ud800"}')
    assert (r.status_code, r.json()["code"]) == (400, 24)


def test_bad_bodies(emulator: Emulator, http: httpx.Client) -> None:
    r = http.post(emulator.api_base + "/folders")
    assert (r.status_code, r.json()["code"]) == (400, 21)
    r = http.post(emulator.api_base + "/folders", content=b"{nope")
    assert (r.status_code, r.json()["code"]) == (400, 22)
    r = http.post(emulator.api_base + "/folders", json=["name"])
    assert (r.status_code, r.json()["code"]) == (400, 22)


def test_create_in_unknown_parent(emulator: Emulator, http: httpx.Client) -> None:
    r = http.post(emulator.api_base + "/folders", json={"name": "x", "parentFolderId": fid("no/")})
    assert r.status_code == 404 and r.json()["code"] == 60


# -- rename / move: ids change for the item and everything below -----------------------------


def test_rename_folder_changes_descendant_ids(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("a/b/c.txt", b"c")
    old_file = fid("a/b/c.txt")
    r = post(http, emulator, "folders", fid("a/"), name="z")
    assert r.status_code == 200
    assert r.json() == {"id": fid("z/"), "name": "z", "parentId": APP_ID}
    assert http.get(f"{emulator.api_base}/files/{old_file}").status_code == 404
    moved = http.get(f"{emulator.api_base}/files/{fid('z/b/c.txt')}")
    assert moved.status_code == 200 and moved.json()["name"] == "c.txt"
    assert listing(http, emulator, fid("z/b/"))["parentId"] == fid("z/")


def test_move_folder(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("a/x.txt", b"x")
    emulator.mkdir("dest")
    r = post(http, emulator, "folders", fid("a/"), parentFolderId=fid("dest/"))
    assert r.json() == {"id": fid("dest/a/"), "name": "a", "parentId": fid("dest/")}
    assert set(emulator.listing()) == {"dest", "dest/a", "dest/a/x.txt"}


def test_rename_and_move_together_and_clone_false(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("a.txt", b"a")
    emulator.mkdir("d")
    r = post(http, emulator, "files", fid("a.txt"), name="b.txt", parentFolderId=fid("d/"),
             clone=False)  # fmt: skip
    assert r.status_code == 200
    assert (r.json()["id"], r.json()["name"], r.json()["parentId"]) == (
        fid("d/b.txt"),
        "b.txt",
        fid("d/"),
    )
    assert set(emulator.listing()) == {"d", "d/b.txt"}


def test_file_rename_bumps_last_update_but_keeps_creation(
    emulator: Emulator, http: httpx.Client
) -> None:
    old = datetime(2020, 1, 1, tzinfo=UTC)
    emulator.put_file("a.txt", b"a", created=old)
    r = post(http, emulator, "files", fid("a.txt"), name="b.txt")
    body = r.json()
    assert body["creationDate"] == "2020-01-01T01:00:00+0100"
    assert body["lastUpdateDate"] != body["creationDate"]
    assert body["size"] == 1 and body["type"] == "FILE" and body["parentId"] == APP_ID
    entry = emulator.listing()["b.txt"]
    assert entry.created == old
    assert entry.modified is not None and abs(entry.modified.timestamp() - time.time()) < 5


def test_folder_move_keeps_file_dates(emulator: Emulator, http: httpx.Client) -> None:
    old = datetime(2020, 1, 1, tzinfo=UTC)
    emulator.put_file("a/f", b"", created=old)
    post(http, emulator, "folders", fid("a/"), name="b")
    assert emulator.listing()["b/f"].modified == old


def test_rename_onto_existing_name_fails(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("a.txt", b"")
    emulator.put_file("b.txt", b"")
    emulator.mkdir("d1")
    emulator.mkdir("d2")
    for what, item, body in [
        ("files", fid("a.txt"), {"name": "b.txt"}),
        ("folders", fid("d1/"), {"name": "d2"}),
        ("folders", fid("d1/"), {"name": "a.txt"}),
    ]:
        r = http.post(f"{emulator.api_base}/{what}/{item}", json=body)
        assert r.status_code == 400
        assert r.json()["message"] == "PDK_CW_0001-ALREADY_EXISTS"


def test_rename_to_same_name_is_a_no_op(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("a.txt", b"")
    r = post(http, emulator, "files", fid("a.txt"), name="a.txt")
    assert r.status_code == 200 and r.json()["id"] == fid("a.txt")


def test_move_folder_into_itself_fails(emulator: Emulator, http: httpx.Client) -> None:
    emulator.mkdir("a/b")
    for target in ("a/", "a/b/"):
        r = post(http, emulator, "folders", fid("a/"), parentFolderId=fid(target))
        assert r.status_code == 400
        assert r.json()["message"] == "PDK_CW_0004-INVALID_DESTINATION"


def test_update_needs_a_field(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("a.txt", b"")
    for body in ({}, {"clone": True}, {"name": "x", "clone": True}):
        r = http.post(f"{emulator.api_base}/files/{fid('a.txt')}", json=body)
        assert r.status_code == 400 and r.json()["code"] == 23
    r = post(http, emulator, "files", fid("a.txt"), parentFolderId=APP_ID, clone="yes")
    assert r.status_code == 400 and r.json()["code"] == 24


def test_update_unknown_ids(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("a.txt", b"")
    assert post(http, emulator, "files", fid("nope"), name="x").status_code == 404
    assert post(http, emulator, "folders", fid("nope/"), name="x").status_code == 404
    r = post(http, emulator, "files", fid("a.txt"), parentFolderId=fid("nope/"))
    assert r.status_code == 404 and r.json()["code"] == 60
    r = post(http, emulator, "files", fid("a.txt"), parentFolderId=fid("a.txt"))
    assert r.status_code == 404


def test_roots_cannot_be_renamed_or_deleted(emulator: Emulator, full_http: httpx.Client) -> None:
    for item in (APP_ID, "Lw", b64id("mes dossiers partenaires/")):
        r = full_http.post(f"{emulator.api_base}/folders/{item}", json={"name": "x"})
        assert r.status_code == 403, item
        assert full_http.delete(f"{emulator.api_base}/folders/{item}").status_code == 403


# -- copy --------------------------------------------------------------------------------------


def test_copy_file_into_same_folder_is_renamed(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("photo.jpg", b"img", created=datetime(2020, 1, 1, tzinfo=UTC))
    r = post(http, emulator, "files", fid("photo.jpg"), parentFolderId=APP_ID, clone=True)
    assert r.status_code == 200
    assert (r.json()["id"], r.json()["name"]) == (fid("photo(1).jpg"), "photo(1).jpg")
    r = post(http, emulator, "files", fid("photo.jpg"), parentFolderId=APP_ID, clone=True)
    assert r.json()["name"] == "photo(2).jpg"
    assert emulator.read_file("photo(2).jpg") == b"img"
    copy = emulator.listing()["photo(1).jpg"]
    assert copy.created is not None and copy.created.year > 2020  # a copy is new


def test_copy_file_with_a_new_name(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("a.txt", b"a")
    emulator.mkdir("d")
    r = post(http, emulator, "files", fid("a.txt"), name="b.txt", parentFolderId=fid("d/"),
             clone=True)  # fmt: skip
    assert r.json()["id"] == fid("d/b.txt")
    assert emulator.read_file("a.txt") == emulator.read_file("d/b.txt") == b"a"


def test_copy_folder(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("src/x/y.txt", b"y")
    emulator.mkdir("dest")
    r = post(http, emulator, "folders", fid("src/"), parentFolderId=fid("dest/"), clone=True)
    assert r.json() == {"id": fid("dest/src/"), "name": "src", "parentId": fid("dest/")}
    assert emulator.read_file("dest/src/x/y.txt") == b"y"
    assert emulator.read_file("src/x/y.txt") == b"y"
    emulator.delete("src")
    assert emulator.read_file("dest/src/x/y.txt") == b"y"  # the copy owns its bytes


def test_copy_folder_into_its_parent_or_itself_fails(
    emulator: Emulator, http: httpx.Client
) -> None:
    emulator.mkdir("src/in")
    emulator.mkdir("other/src")
    cases = [(APP_ID, "INVALID_DESTINATION"), (fid("src/in/"), "INVALID_DESTINATION"),
             (fid("other/"), "ALREADY_EXISTS")]  # fmt: skip
    for dest, label in cases:
        r = post(http, emulator, "folders", fid("src/"), parentFolderId=dest, clone=True)
        assert r.status_code == 400
        assert r.json()["message"].endswith(label)


def test_copy_beyond_quota(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(quota_bytes=10)
    emulator.put_file("a", b"123456")
    headers = {"Authorization": "Bearer " + emulator.issue_token()["access_token"]}
    r = httpx.post(f"{emulator.api_base}/files/{fid('a')}", headers=headers,
                   json={"parentFolderId": APP_ID, "clone": True})  # fmt: skip
    assert r.status_code == 500
    assert r.json()["error"]["label"] == "NO_SPACE_LEFT"


# -- delete ------------------------------------------------------------------------------------


def test_delete_is_recursive_and_permanent(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("a/b/c.txt", b"abc")
    free = http.get(emulator.api_base + "/freespace").json()["freespace"]
    r = http.delete(f"{emulator.api_base}/folders/{fid('a/')}")
    assert r.status_code == 204 and r.content == b""
    assert emulator.listing() == {}
    assert http.get(emulator.api_base + "/freespace").json()["freespace"] == free + 3
    assert http.delete(f"{emulator.api_base}/folders/{fid('a/')}").status_code == 404


def test_delete_file(emulator: Emulator, http: httpx.Client) -> None:
    emulator.put_file("a.txt", b"")
    assert http.delete(f"{emulator.api_base}/files/{fid('a.txt')}").status_code == 204
    assert http.delete(f"{emulator.api_base}/files/{fid('a.txt')}").status_code == 404


# -- scopes --------------------------------------------------------------------------------------


def test_writes_outside_the_app_folder_need_full_write(
    emulator: Emulator, full_http: httpx.Client
) -> None:
    emulator.put_file("/Music/a.mp3", b"")
    emulator.put_file("mine.txt", b"")
    music, song = b64id("Music/"), b64id("Music/a.mp3")
    token = emulator.issue_token("cloud cloudfullread")["access_token"]
    read_only = {"Authorization": f"Bearer {token}"}
    attempts: list[tuple[str, str, object]] = [
        ("POST", "/folders", {"name": "x"}),  # the visible root is the true root here
        ("POST", f"/folders/{music}", {"name": "x"}),
        ("POST", f"/files/{song}", {"parentFolderId": APP_ID}),
        ("POST", f"/files/{fid('mine.txt')}", {"parentFolderId": music}),
        ("DELETE", f"/folders/{music}", None),
    ]
    for method, path, body in attempts:
        r = httpx.request(method, emulator.api_base + path, json=body, headers=read_only)
        assert r.status_code == 403, (method, path)
        assert r.json()["message"] == "PDK_CW_0003-FORBIDDEN_ACCESS"
    # Copying from Music into the app folder reads there and writes here: allowed.
    r = httpx.post(f"{emulator.api_base}/files/{song}", headers=read_only,
                   json={"parentFolderId": APP_ID, "clone": True})  # fmt: skip
    assert r.status_code == 200
    r = full_http.post(f"{emulator.api_base}/folders/{music}", json={"name": "Musique"})
    assert r.status_code == 200
