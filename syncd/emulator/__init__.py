"""A faithful local emulator of the Orange Cloud France API, on a real loopback HTTP server.

Use::

    with Emulator(tmp_path / "cloud") as emu:          # port 0: any free port
        token = emu.issue_token()["access_token"]        # or run the OAuth flow
        httpx.get(emu.api_base + "/folders?flat=true", headers={"Authorization": ...})
        emu.put_file("docs/a.txt", b"hi")                # direct access, no HTTP
        emu.faults.error_5xx_rate = 0.2                  # fault injection, live

or ``syncd emulator --port 8765 --data DIR`` (see ``syncd emulator --help``).

One server stands for the service's hosts by path prefix: ``{origin}/cloud/v1`` is
api.orange.com, ``{origin}/content/cloud/v1`` is cloudapi.orange.com (upload and the
download/thumb/preview URLs), ``{origin}/oauth/v2/{authorize,token}`` is the OAuth server, and
``{origin}/_emulator/`` is an admin API for tests in another process (see `admin`).

Everything known from real captures or public clients is reproduced as captured. Where the
evidence stops ([G]), this emulator chooses as follows; clients must not rely on more.

Ids, dates, types
  * Ids are the unpadded base64url of the UTF-8 path (folders end in ``/``, root ``Lw``), so a
    rename or move changes the id of the item and of everything below it. An id that does not
    decode, names nothing, or names a file where a folder is expected (or the reverse)
    → 404 code 60 on the API host.
  * Dates have second precision, ``YYYY-MM-DDTHH:MM:SS+HHMM``, Europe/Paris by default.
    Upload: creationDate = lastUpdateDate = now. Renaming or moving a *file* sets its
    lastUpdateDate to now and keeps its creationDate; renaming or moving a *folder* leaves the
    dates of the files below it alone. A copy is new: both dates = now.
  * Type by extension (PICTURE/VIDEO/AUDIO/FILE, see `model`); metadata is ``{}`` (no image or
    media probing) unless a test gives it to ``put_file``.

Names and conflicts
  * Create, rename, move and upload refuse an empty name, ``.``, ``..``, and names holding
    ``/`` or NUL: 400 code 24 (code 23 when ``name`` is missing); on the content host the
    nested shape ``INVALID_PARAMETER``. ``Emulator.inject_raw_name`` stores any name, so tests
    can see hostile names coming from the cloud (ids then still decode to the joined path,
    and are still served: lookups re-join path components that contain ``/``).
  * Create folder, rename or move onto an existing name → HTTP 400 (``conflict_status``)
    ``{"code":800,"message":"PDK_CW_0001-ALREADY_EXISTS",…}``. Renaming to the same name or
    moving into the same folder is a successful no-op.
  * Upload onto an existing name stores ``stem(1).ext``, ``stem(2).ext``… (``name(1)`` without
    extension). A file copy never conflicts: it takes the next free ``stem(n).ext`` too, in the
    same folder or elsewhere; ``name`` + ``parentFolderId`` + ``clone`` names the copy.
  * A folder copy into its own parent, or a folder move/copy into itself or below itself
    → 400 ``PDK_CW_0004-INVALID_DESTINATION``; a folder copy onto an existing name → conflict.
  * Delete is permanent and recursive: 204.

Scopes and roots
  * A token whose scope holds ``cloudfullread`` sees the true root ``Lw`` (name ``""``);
    others see the app folder ``mes dossiers partenaires/<app_name>/``, which always exists.
    ``?restrictedmode`` makes the app folder the root for any token, and only changes that.
    The root a call sees is its own parentId.
  * Reading outside the app folder without ``cloudfullread``, or writing (create, update,
    delete, upload, copy destination) outside it without ``cloudfullwrite`` → 403
    ``PDK_CW_0003-FORBIDDEN_ACCESS`` (the real body); nested ``FORBIDDEN_ACCESS`` on the content
    host. The visible root, the true root and the folders holding the app folder cannot be
    renamed, moved or deleted (same 403).

Listings (``GET /folders``, ``/folders/``, ``/folders/{id}``)
  * Flags are on when present and not ``false``/``0``. ``filter`` accepts image, picture,
    photo, video, audio, music, other, file (case-insensitive), restricts files only; anything
    else → 400 code 28, as do non-numeric ``limit``/``offset``.
  * Subfolders come sorted by name (``flat``: pre-order, each with its parentId); files by
    creationDate, newest first, then by path. ``tree`` empties ``files``.
  * ``offset``/``limit`` apply to the concatenation *subfolders then files* (the only split
    consistent with mkbrv's tests); ``limit`` absent or 0 = no limit. The service's real split
    is unknown, so ``page_split="separate"`` (``--page-split separate``) windows each list on
    its own instead: a page then holds ``subfolders[offset:offset+limit]`` and
    ``files[offset:offset+limit]``. Clients must be right under both.
  * ``showthumbnails`` adds ``downloadUrl`` to every file and ``thumbUrl``/``previewUrl`` to
    pictures and videos, with ``flat`` too. Without it listings carry no URLs; ``GET
    /files/{id}`` always does. URL fields are absent (never null) when they do not apply.
  * Update answers 200 ``{id, name, parentId}`` for a folder, and the file entry (without
    URLs) plus ``parentId`` for a file. Create folder answers 201 with the folder object.

Upload (``POST {content}/files/content``), download
  * Multipart (``description`` + ``file``, either order, leading CRLF and pretty JSON fine) or
    raw body with ``?name=&folder=`` (size: ``?size=`` or Content-Length), Content-Length or
    chunked. 201 ``{fileId, fileName}``. ``size`` may be missing (then it is not checked);
    otherwise received ≠ announced → 400 nested, nothing stored. No ``folder`` = visible root;
    unknown folder → 404 nested ``FOLDER_NOT_FOUND``. Quota (``quota_bytes``, default 100 GB)
    and ``max_file_size`` (default none) → 500 nested ``NO_SPACE_LEFT`` / ``TOO_BIG_FILE``,
    refused from the announced size before the bytes are read. A client that disconnects mid
    body leaves nothing behind.
  * Content URLs ``{content}/files/{id}/{content|thumb|preview}/{opaque}``: the opaque part is
    a random nonce plus a MAC of the file's blob, so it differs in every response, yet every
    URL ever issued stays valid while the same bytes sit at the same id (also across restarts).
    A stale URL → 404 nested ``FILE_NOT_FOUND``. Downloads honour one ``Range`` (``a-b``,
    ``a-``, ``-n``; 206, or 416 with ``Content-Range: bytes */size``) and send
    ``application/octet-stream``; thumb/preview send the original bytes as ``image/jpeg``.
    ``?token=`` is accepted instead of the header on the content host only.

Auth
  * API host: no token → 401 code 40; unknown → 41; expired → 41 (``expired_code=42`` for
    "Expired credentials"). Content host: 401 nested ``INVALID_TOKEN`` in every case.
  * ``/oauth/v2/authorize`` approves at once (302 with ``code`` and ``state``); codes live 600 s
    and are single use even when the exchange fails. ``/oauth/v2/token`` needs HTTP Basic
    client auth (else 401 ``invalid_client``). Refresh tokens never expire; refresh answers
    without a new refresh token unless ``rotate_refresh_tokens``; a ``scope`` sent on refresh is
    ignored (or, with ``reject_refresh_scope``, refused with 400 ``invalid_scope``). Every grant
    gets a refresh token, ``offline_access`` or not.
  * Access and refresh tokens survive a restart (authorization codes do not; an access token
    already expired at restart is forgotten, so it then gets 41 even with ``expired_code=42``).
  * Legacy ``POST /cloud/v1/session`` answers ``{"esid": …}``; ``X-Orange-CA-ESID`` is ignored.

Other errors: unknown endpoint → 404 (code 60, or nested ``NOT_FOUND`` on the content host);
known path with the wrong method → 405 code 61. Nested ``PDK_…`` codes other than
``PDK_RP_0004`` are invented; only the labels come from real clients.

Persistence: the tree and tokens live in memory; each change is appended to
``data_dir/journal.jsonl`` (compacted at start and stop) and file bytes are blob files under
``data_dir/blobs``. See `journal` and `blobs`. Without a ``data_dir`` a private temporary folder
is used and removed by ``stop()``.
"""

from syncd.emulator.faults import Faults
from syncd.emulator.server import Emulator
from syncd.emulator.stats import StatsSnapshot
from syncd.emulator.views import Entry

__all__ = ["Emulator", "Entry", "Faults", "StatsSnapshot"]
