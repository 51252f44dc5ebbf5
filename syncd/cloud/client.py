"""`CloudClient`: one typed method per Orange Cloud API call, plus `list_flat`.

Results are the API-neutral dataclasses of `models.py`; failures are the typed errors of
`errors.py`. Ids are opaque. Every call retries transient failures (`retry.py`); calls that
change state are made safe to repeat: a repeated delete that finds nothing, or a repeated create
that finds the folder, after an answer was lost, counts as done; renames, moves and copies look
for their result, and uploads check the folder (`transfer.py`), before re-sending.

Thread-safe: the sync engine runs parallel transfers through one client. Size
`max_connections` to at least the number of transfer threads plus `download_streams`: a
download of at least `ranged_min_size` bytes is fetched as ranges of `range_size` by a pool of
`download_streams` threads, shared by all downloads (see `transfer.RangedDownload`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, BinaryIO, Self
from urllib.parse import quote

import httpx

from syncd.cloud import ids
from syncd.cloud.errors import (
    AlreadyExists,
    CloudError,
    CloudUnavailable,
    Forbidden,
    ForeignUrl,
    InvalidName,
    NotFound,
    ServerError,
    TransferIncomplete,
)
from syncd.cloud.models import (
    DamagedItem,
    FlatPage,
    FolderListing,
    ItemRef,
    RemoteFile,
    RemoteFolderRef,
    UploadResult,
)
from syncd.cloud.retry import RetryPolicy
from syncd.cloud.session import CloudSession, Health
from syncd.cloud.settings import CloudSettings
from syncd.cloud.tokens import TokenFileStore, TokenManager, TokenStorage
from syncd.cloud.transfer import (
    DEFAULT_CHUNK,
    DOWNLOAD_STREAMS,
    RANGE_SIZE,
    RANGED_MIN_SIZE,
    Downloader,
    MultipartUpload,
    Progress,
    ProgressAborted,
    RangedDownload,
    RangeFetch,
    RangesRefused,
    UploadJob,
    UploadSource,
    as_source,
    guarded,
    is_same_or_numbered,
)
from syncd.cloud.wire import (
    parse_file,
    parse_folder,
    parse_freespace,
    parse_item_ref,
    parse_listing,
    parse_upload,
)

log = logging.getLogger(__name__)

# The values `CloudClient.get_folder` takes as `filter`: the families of files the API knows.
FILTERS = ("image", "picture", "video", "audio", "other", "file")


class CloudClient:
    """The Orange Cloud API. Construct with `from_settings`, or inject the parts (tests); use
    it as a context manager, or call `close`.

    Any call may raise `CloudAuthError` when the service refuses the login, what
    `TokenManager` raises when there is no token or it cannot be refreshed (first of all
    `syncd.errors.AuthRequired`), `TermsNotAccepted`, `Forbidden`, `MalformedResponse`,
    and, once its retries are spent, the last transient failure (`CloudUnavailable`,
    `ServerError`, `RateLimited`). Each method names the errors particular to it.
    """

    def __init__(
        self,
        settings: CloudSettings,
        tokens: TokenManager,
        *,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 8,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        chunk_size: int = DEFAULT_CHUNK,
        owns_tokens: bool = False,
        download_streams: int = DOWNLOAD_STREAMS,
        ranged_min_size: int = RANGED_MIN_SIZE,
        range_size: int = RANGE_SIZE,
    ) -> None:
        """Wire a client from its parts.

        `tokens` signs every request; the client closes it only if `owns_tokens`.
        `transport` replaces the network (tests); `max_connections` sizes the pool (see the
        module's doc). `retry` defaults to the settings' attempts and backoff. `clock` dates
        the start of an upload, to recognise one that landed without an answer.
        `chunk_size` is the size of an upload's reads. A download of at least
        `ranged_min_size` bytes is fetched as ranges of `range_size`, `download_streams` at
        a time (1 never splits one).
        """
        self.settings = settings
        self.tokens = tokens
        self._session = CloudSession(
            settings, tokens, transport=transport, max_connections=max_connections
        )
        self._retry = retry or RetryPolicy(
            max_attempts=settings.max_attempts, max_backoff_s=settings.max_backoff_s
        )
        self._clock = clock
        self._chunk_size = chunk_size
        self._owns_tokens = owns_tokens
        self._download_streams = download_streams
        self._ranged_min_size = ranged_min_size
        self._range_size = range_size
        self._range_workers: ThreadPoolExecutor | None = None
        self._range_lock = threading.Lock()
        hosts = (self._session.api_url, self._session.content_url)
        self._origins = frozenset(_origin(httpx.URL(url)) for url in hosts)
        # Parsed once: httpx checks a URL string character by character, in Python.
        self._upload_url = httpx.URL(self._session.content_url + "/files/content")

    @classmethod
    def from_settings(
        cls,
        settings: CloudSettings,
        *,
        store: TokenStorage | None = None,
        max_connections: int = 8,
        transport: httpx.BaseTransport | None = None,
    ) -> CloudClient:
        """A client with its own token manager, reading tokens from `settings.token_file`
        (or `store`), which it closes with itself."""
        tokens = TokenManager(
            settings, store or TokenFileStore(settings.token_file), transport=transport
        )
        return cls(
            settings,
            tokens,
            transport=transport,
            max_connections=max_connections,
            owns_tokens=True,
        )

    def close(self) -> None:
        """Stop the range-download threads and close the connections (and the token
        manager, if the client owns it). The client cannot be used afterwards."""
        with self._range_lock:
            workers, self._range_workers = self._range_workers, None
        if workers is not None:
            workers.shutdown(cancel_futures=True)
        self._session.close()
        if self._owns_tokens:
            self.tokens.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CloudClient(api={self._session.api_url!r})"

    @property
    def health(self) -> Health:
        """Whether the cloud answered the last call (see `Health`)."""
        return self._session.health

    # -- plumbing -------------------------------------------------------------------------

    def _api(self, *parts: str) -> str:
        return self._session.api_url + "/" + "/".join(quote(p, safe="") for p in parts)

    def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        target: str | None = None,
    ) -> httpx.Response:
        return self._retry.call(
            lambda: self._session.request(
                method, url, params=params, json_body=json_body, target=target
            )
        )

    def _mutate(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        target: str | None = None,
        recover: Callable[[CloudError], Any] | None = None,
        before_resend: Callable[[], Any] | None = None,
    ) -> Any:
        """A state-changing call, retried. After an attempt that may have been applied
        without an answer, `before_resend` may find its result (then nothing is re-sent),
        and `recover` judges the error of the re-send (a conflict with the first attempt)."""
        unanswered = False

        def attempt() -> Any:
            nonlocal unanswered
            if unanswered and before_resend is not None:
                found = before_resend()
                if found is not None:
                    return found
            try:
                response = self._session.request(method, url, json_body=json_body, target=target)
            except (CloudUnavailable, ServerError) as exc:
                # A 5xx may come after the change was made, like a lost answer.
                unanswered = unanswered or not isinstance(exc, CloudUnavailable) or exc.maybe_sent
                raise
            except CloudError as exc:
                if unanswered and recover is not None:
                    result = recover(exc)
                    if result is not None:
                        return result
                raise
            return self._session.json(response) if response.content else None

        return self._retry.call(attempt)

    # -- account --------------------------------------------------------------------------

    def freespace(self) -> int:
        """Bytes still free in the account."""
        return parse_freespace(self._session.json(self._call("GET", self._api("freespace"))))

    # -- folders --------------------------------------------------------------------------

    def get_folder(
        self,
        folder_id: str | None = None,
        *,
        flat: bool = False,
        tree: bool = False,
        show_thumbnails: bool = False,
        filter: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        restricted_mode: bool = False,
    ) -> FolderListing:
        """One `GET /folders/{id}` (the visible root when `folder_id` is None), read strictly.

        The flags are the API's query flags: `flat` lists the whole subtree, `tree` its
        folders only, `show_thumbnails` adds the files' download, thumbnail and preview URLs,
        `filter` keeps one family of files (one of `FILTERS`), `restricted_mode` makes the
        app folder the root. `limit` and `offset` window a page (`iter_flat_pages` says how).
        Raises `NotFound` if there is no such folder, `IncompleteListing` if the page cannot
        be read whole.
        """
        params = _folder_params(
            flat=flat,
            tree=tree,
            show_thumbnails=show_thumbnails,
            filter=filter,
            limit=limit,
            offset=offset,
            restricted_mode=restricted_mode,
        )
        return parse_listing(self._session.json(self._folder_get(folder_id, params)), flat=flat)

    def _folder_get(self, folder_id: str | None, params: dict[str, str]) -> httpx.Response:
        url = self._api("folders", folder_id) if folder_id else self._api("folders")
        return self._call("GET", url, params=params, target=ids.shown(folder_id))

    def root(self) -> FolderListing:
        """The visible root (the app folder for an app with the `cloud` scope)."""
        return self.get_folder()

    def iter_flat(
        self,
        folder_id: str | None = None,
        *,
        tree: bool = False,
        page_size: int = 2000,
        show_thumbnails: bool = False,
    ) -> Iterator[FolderListing]:
        """The pages of a folder's flat listing, as they come (no merging, no de-duplication).

        Right whichever way the server windows a page (see `iter_flat_pages`). A caller can
        turn each page into its own records and drop it, instead of holding a whole big
        tree's parsed objects at once. Raises as `get_folder` does, at the page it fails on.
        """
        for page in self.iter_flat_pages(
            folder_id, tree=tree, page_size=page_size, show_thumbnails=show_thumbnails
        ):
            assert page.listing is not None  # nothing was known, so every page is parsed
            yield page.listing

    def list_children(
        self, folder_id: str | None = None, *, page_size: int = 2000
    ) -> FolderListing:
        """A folder's direct children (a non-flat listing), read whole however the server
        windows its pages (see `iter_flat_pages`). Raises as `get_folder` does."""
        return _merged(self._pages(folder_id, flat=False, page_size=page_size))

    def iter_flat_pages(
        self,
        folder_id: str | None = None,
        *,
        tree: bool = False,
        page_size: int = 2000,
        show_thumbnails: bool = False,
        known: Sequence[tuple[bytes, int]] = (),
    ) -> Iterator[FlatPage]:
        """`iter_flat`, with a digest of each page's body. A page whose digest is the one
        `known` holds at its position (with its item count) is not parsed: a poller that
        finds every page unchanged has spent no time decoding a big tree it already has.

        How `limit` and `offset` split a page between `subfolders` and `files` is not
        documented. A server may window the two lists as one (subfolders, then files) or
        each on its own (then a page holds up to twice `page_size` items). Both are read
        whole by moving `offset` on by `page_size`, never by the count received (which
        skips files under the second way), and by stopping only at a page with fewer than
        `page_size` items in all (under the second way, that costs at most one more call).
        Raises as `get_folder` does, at the page it fails on.
        """
        return self._pages(
            folder_id,
            flat=True,
            tree=tree,
            page_size=page_size,
            show_thumbnails=show_thumbnails,
            known=known,
        )

    def _pages(
        self,
        folder_id: str | None,
        *,
        flat: bool,
        page_size: int,
        tree: bool = False,
        show_thumbnails: bool = False,
        known: Sequence[tuple[bytes, int]] = (),
    ) -> Iterator[FlatPage]:
        offset = 0
        index = 0
        while True:
            params = _folder_params(
                flat=flat,
                tree=tree,
                show_thumbnails=show_thumbnails,
                limit=page_size,
                offset=offset,
            )
            response = self._folder_get(folder_id, params)
            digest = hashlib.blake2b(response.content, digest_size=16).digest()
            if index < len(known) and known[index][0] == digest:
                page = FlatPage(digest, known[index][1], None, offset)
            else:
                listing = parse_listing(self._session.json(response), flat=flat)
                count = len(listing.files) + len(listing.subfolders) + len(listing.damaged)
                page = FlatPage(digest, count, listing, offset)
            del response
            yield page
            if page.count < page_size:
                return
            offset += page_size
            index += 1

    def list_flat(
        self,
        folder_id: str | None = None,
        *,
        tree: bool = False,
        page_size: int = 2000,
        show_thumbnails: bool = False,
    ) -> FolderListing:
        """The whole subtree of a folder in one `FolderListing`, merged from pages.

        Items are de-duplicated by id (a tree that changes while it is paged may repeat or
        miss some: poll again). Files get `parent_id` from their id when the listing gives
        none (see `ids.py`). `show_thumbnails` asks for the files' download URLs too; `tree`
        for the folders only. Raises as `get_folder` does.
        """
        pages = self._pages(
            folder_id,
            flat=True,
            tree=tree,
            page_size=page_size,
            show_thumbnails=show_thumbnails,
        )
        listing = _merged(pages)
        known = {d.id for d in listing.subfolders} | {listing.id}
        return replace(listing, files=tuple(_with_parent(f, known) for f in listing.files))

    def create_folder(self, name: str, parent_id: str | None = None) -> FolderListing:
        """`POST /folders`: a new empty folder `name` in `parent_id` (default: the visible
        root), returned as its listing.

        Raises `InvalidName` for a name the cloud cannot hold (empty, `.`, `..`, or with `/`
        or NUL) or refuses, `AlreadyExists` if the parent has an item by that name, and
        `NotFound` if the parent is gone. A re-send that meets the folder its lost first
        attempt made returns that folder.
        """
        _check_name(name)
        body: dict[str, str] = {"name": name}
        if parent_id is not None:
            body["parentFolderId"] = parent_id

        def recover(exc: CloudError) -> FolderListing | None:
            if not isinstance(exc, AlreadyExists):
                return None
            for sub in self.get_folder(parent_id).subfolders:
                if sub.name == name:
                    return self.get_folder(sub.id)
            return None

        data = self._mutate(
            "POST", self._api("folders"), json_body=body, target=name, recover=recover
        )
        if isinstance(data, FolderListing):
            return data
        return parse_folder(data)

    def delete_folder(self, folder_id: str) -> None:
        """`DELETE /folders/{id}`: recursive and permanent. Raises `NotFound` if it is not
        there (unless a first attempt whose answer was lost deleted it)."""
        self._delete("folders", folder_id)

    def move_folder(self, folder_id: str, dest_folder_id: str) -> ItemRef:
        """Move a folder, with its content, into `dest_folder_id`; returns its new id (ids
        follow paths, so every id beneath it changes too).

        Raises `NotFound` if either folder is gone, `AlreadyExists` if the destination holds
        that name, `BadRequest` for a move into itself.
        """
        landed = self._moved(folder_id, dest_folder_id, ids.name_of(folder_id), is_dir=True)
        body = {"parentFolderId": dest_folder_id}
        return self._update("folders", folder_id, body, before_resend=landed)

    def rename_folder(self, folder_id: str, new_name: str) -> ItemRef:
        """Rename a folder where it is; returns its new id (every id beneath it changes too).

        Raises `InvalidName` (see `create_folder`), `AlreadyExists` if a sibling has that
        name, `NotFound` if the folder is gone.
        """
        _check_name(new_name)
        landed = self._moved(folder_id, ids.parent_id_of(folder_id), new_name, is_dir=True)
        return self._update("folders", folder_id, {"name": new_name}, before_resend=landed)

    def copy_folder(self, folder_id: str, dest_folder_id: str) -> ItemRef:
        """Copy a folder (recursively) into another folder; returns the copy.

        Raises `BadRequest` for a copy into its own parent or into itself, `AlreadyExists`
        if the destination holds that name, `QuotaExceeded` if the copy does not fit,
        `NotFound` if either folder is gone.
        """

        def recover(exc: CloudError) -> ItemRef | None:
            # The lost first attempt made the copy: the retry collides with it.
            if not isinstance(exc, AlreadyExists):
                return None
            name = self.get_folder(folder_id).name
            for sub in self.get_folder(dest_folder_id).subfolders:
                if sub.name == name:
                    return ItemRef(sub.id, sub.name, dest_folder_id)
            return None

        body = {"parentFolderId": dest_folder_id, "clone": True}
        return self._update("folders", folder_id, body, recover=recover)

    # -- files ----------------------------------------------------------------------------

    def get_file(self, file_id: str) -> RemoteFile:
        """`GET /files/{id}`: the file with its `download_url`. Raises `NotFound` if there is
        no such file, `MalformedResponse` if its size or dates cannot be read."""
        response = self._call("GET", self._api("files", file_id), target=ids.shown(file_id))
        return parse_file(self._session.json(response))

    def delete_file(self, file_id: str) -> None:
        """`DELETE /files/{id}`: permanent. Raises `NotFound` if it is not there (unless a
        first attempt whose answer was lost deleted it)."""
        self._delete("files", file_id)

    def move_file(self, file_id: str, dest_folder_id: str) -> ItemRef:
        """Move a file into `dest_folder_id`, keeping its name; returns its new id.

        Raises `NotFound` if the file or the folder is gone, `AlreadyExists` if the folder
        holds that name.
        """
        landed = self._moved(file_id, dest_folder_id, ids.name_of(file_id), is_dir=False)
        body = {"parentFolderId": dest_folder_id}
        return self._update("files", file_id, body, before_resend=landed)

    def rename_file(self, file_id: str, new_name: str) -> ItemRef:
        """Rename a file where it is; returns its new id.

        Raises `InvalidName` (see `create_folder`), `AlreadyExists` if a sibling has that
        name, `NotFound` if the file is gone.
        """
        _check_name(new_name)
        landed = self._moved(file_id, ids.parent_id_of(file_id), new_name, is_dir=False)
        return self._update("files", file_id, {"name": new_name}, before_resend=landed)

    def _moved(
        self, item_id: str, folder_id: str | None, name: str | None, *, is_dir: bool
    ) -> Callable[[], ItemRef | None]:
        """Before re-sending a rename or move whose answer was lost: did it happen?

        Ids follow paths, so a re-sent call whose first attempt was applied could only fail
        with NotFound. It was applied if the old id is gone and `folder_id` (where the call
        puts the item) now holds an item of that kind named `name`; None sends it again.
        """

        def landed() -> ItemRef | None:
            if folder_id is None or name is None:
                return None  # an id we cannot read: re-send, and report what it says
            try:
                if is_dir:
                    self.get_folder(item_id)
                else:
                    self.get_file(item_id)
            except NotFound:
                pass
            else:
                return None  # still where it was: the first attempt did nothing
            listing = self.get_folder(folder_id)
            found = listing.subfolders if is_dir else listing.files
            for item in found:
                if item.name == name:
                    log.info("a lost answer: %s had already moved to %s", ids.shown(item_id), name)
                    return ItemRef(item.id, item.name, folder_id)
            return None

        return landed

    def copy_file(self, file_id: str, dest_folder_id: str) -> ItemRef:
        """Copy a file into a folder; returns the copy. A name taken there gives the copy
        `name(n).ext`. Raises `NotFound` if the file or the folder is gone, `QuotaExceeded`
        if the copy does not fit.

        A copy never conflicts, so a blind re-send after a lost answer would leave two.
        The destination is listed first, and again before any re-send, to spot the copy.
        """
        source = self.get_file(file_id)
        before = {f.id for f in self.get_folder(dest_folder_id).files}

        def landed() -> ItemRef | None:
            for f in self.get_folder(dest_folder_id).files:
                if (
                    f.id not in before
                    and f.size == source.size
                    and is_same_or_numbered(f.name, source.name)
                ):
                    return ItemRef(f.id, f.name, dest_folder_id)
            return None

        body = {"parentFolderId": dest_folder_id, "clone": True}
        return self._update("files", file_id, body, before_resend=landed)

    def _delete(self, kind: str, item_id: str) -> None:
        def recover(exc: CloudError) -> bool | None:
            # The lost first attempt deleted it.
            return True if isinstance(exc, NotFound) else None

        self._mutate("DELETE", self._api(kind, item_id), target=ids.shown(item_id), recover=recover)

    def _update(
        self,
        kind: str,
        item_id: str,
        body: dict[str, Any],
        *,
        recover: Callable[[CloudError], ItemRef | None] | None = None,
        before_resend: Callable[[], ItemRef | None] | None = None,
    ) -> ItemRef:
        # A lost answer to a rename or move leaves the old id gone (ids follow paths), so a
        # re-send could only get NotFound: `before_resend` (see `_moved`) looks first.
        data = self._mutate(
            "POST",
            self._api(kind, item_id),
            json_body=body,
            target=ids.shown(item_id),
            recover=recover,
            before_resend=before_resend,
        )
        return data if isinstance(data, ItemRef) else parse_item_ref(data)

    # -- transfers ------------------------------------------------------------------------

    def upload(
        self,
        source: UploadSource | str | os.PathLike[str],
        folder_id: str | None = None,
        *,
        name: str | None = None,
        progress: Progress | None = None,
    ) -> UploadResult:
        """Upload a file (a path, or a re-openable `UploadSource`) into a folder (default root).

        `name` defaults to the source's. An existing name makes the service store
        `name(1).ext`; the result says which name was stored. Check the folder first if that
        matters (the CLI does). `progress` is called with each chunk's byte count.

        Raises `InvalidName`, `QuotaExceeded`, `FileTooLarge`, `NotFound` (no such folder),
        `transfer.SourceChanged` if the local file changes size while it is sent, `OSError`
        if it cannot be read; whatever `progress` raises ends the upload and is re-raised as
        it is, never retried.
        """
        src = as_source(source, name)
        target_name = name or src.name
        _check_name(target_name)
        url = self._upload_url

        def send(body: MultipartUpload) -> UploadResult:
            response = self._session.request(
                "POST", url, content=body, headers=body.headers, target=target_name
            )
            return parse_upload(self._session.json(response))

        job = UploadJob(
            src,
            folder_id=folder_id,
            name=target_name,
            send=send,
            list_folder=lambda fid: self.get_folder(fid),
            refresh_if_expiring=self.tokens.refresh_if_expiring,
            leeway_s=self.settings.refresh_leeway_s,
            progress=guarded(progress),
            chunk_size=self._chunk_size,
            clock=self._clock,
        )
        try:
            return self._retry.call(job)
        except ProgressAborted as aborted:
            raise aborted.original from None

    def download(
        self,
        file: str | RemoteFile,
        dest: BinaryIO,
        *,
        offset: int = 0,
        progress: Progress | None = None,
    ) -> int:
        """Stream a file (by id, or a `RemoteFile` with its URL) into `dest`; returns its size.

        `dest` must be positioned where byte `offset` of the file goes: pass the size of a
        partial file opened for appending to resume it. Failures resume with `Range`. If the
        server cannot resume, a seekable `dest` is rewound and rewritten. `progress` is
        called with each chunk's byte count.

        Raises `NotFound` (no such file, or no download URL), `ForeignUrl` (a URL off the
        configured hosts), `ContentMismatch` (a body that is not the listed file: nothing
        past its size is written), `TransferIncomplete` or `CloudUnavailable` when retries
        stop bringing bytes, and `CloudError` when the server cannot resume and `dest`
        cannot be rewound; whatever `progress` raises ends the download and is re-raised as
        it is, never retried.
        """
        info = file if isinstance(file, RemoteFile) and file.download_url else None
        file_id = file if isinstance(file, str) else file.id
        if info is None:
            info = self.get_file(file_id)
        if not info.download_url:
            raise NotFound("the cloud gave no download URL", target=ids.shown(file_id))
        job = Downloader(
            self._stream,
            self._session.iter_body,
            dest=dest,
            url=self._ours(info.download_url, info.name or ids.shown(file_id)),
            expected_size=info.size,
            offset=offset,
            progress=guarded(progress),
            target=info.name or ids.shown(file_id),
        )
        refetched = isinstance(file, str)
        try:
            if self._download_streams > 1 and info.size - offset >= self._ranged_min_size:
                job.position = self._in_ranges(job, dest, info.size, guarded(progress))
                if job.done():
                    return job.position
            while True:
                before = job.position
                try:
                    return self._retry.call(job.attempt)
                except (NotFound, Forbidden) as exc:
                    # A URL handed in from an older listing may have expired: get a new one.
                    if refetched or exc.status not in (403, 404, 410):
                        raise
                    refetched = True
                    fresh = self.get_file(file_id)
                    if not fresh.download_url:
                        raise NotFound(
                            "the cloud gave no download URL", target=ids.shown(file_id)
                        ) from exc
                    url = self._ours(fresh.download_url, info.name or ids.shown(file_id))
                    if (fresh.size, fresh.last_update_date) == (info.size, info.last_update_date):
                        job.url = url
                    else:
                        # Another version now: what was fetched of the old one must not be
                        # continued with the new one's bytes.
                        job.restart(url, fresh.size)
                except (CloudUnavailable, TransferIncomplete):
                    # Retries were used up, but bytes kept arriving: keep going.
                    if job.position <= before:
                        raise
        except ProgressAborted as aborted:
            raise aborted.original from None

    def _in_ranges(
        self, job: Downloader, dest: BinaryIO, size: int, progress: Progress | None
    ) -> int:
        """Fetch the rest of `job`'s file as ranges in parallel; returns how much of the file
        `dest` then holds. All of it, unless the server answered a range with the whole file
        or the URL expired: then one stream goes on from there (it renews the URL)."""
        abandoned = threading.Event()

        def fetch(start: int, end: int, buffer: memoryview) -> None:
            one = RangeFetch(
                self._stream, self._session.iter_body, url=job.url, start=start, end=end,
                size=size, buffer=buffer, progress=progress, target=job.target,
                abandoned=abandoned,
            )  # fmt: skip
            while True:
                before = one.position
                try:
                    return self._retry.call(one.attempt)
                except (CloudUnavailable, TransferIncomplete):
                    if one.position <= before:  # retries used up without progress
                        raise

        ranged = RangedDownload(
            fetch,
            self._range_pool().submit,
            start=job.position,
            size=size,
            range_size=self._range_size,
            window=self._download_streams,
            abandoned=abandoned,
        )
        try:
            return ranged.run(dest.write)
        except (RangesRefused, NotFound, Forbidden) as exc:
            log.info("%s: one stream from byte %d (%s)", job.target, ranged.position, exc)
            return ranged.position

    def _range_pool(self) -> ThreadPoolExecutor:
        with self._range_lock:
            if self._range_workers is None:
                self._range_workers = ThreadPoolExecutor(
                    self._download_streams, thread_name_prefix="syncd-range"
                )
            return self._range_workers

    def _ours(self, url: str, target: str) -> httpx.URL:
        """`url`, parsed, if it is on the API or content host; a URL elsewhere is never
        fetched (it would get no token anyway, and a redirect to another host is no download).

        Parsed once, here, and sent as parsed: httpx checks a URL string character by
        character in Python, a cost a small download would otherwise pay at every parse.
        """
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ForeignUrl(
                f"the cloud gave a download URL that cannot be read ({exc}); not followed",
                target=target,
            ) from None
        if _origin(parsed) not in self._origins:
            raise ForeignUrl(
                f"the cloud gave a download URL on another host ({parsed.host or url}); "
                "not followed",
                target=target,
            )
        return parsed

    def _stream(
        self, url: httpx.URL, headers: dict[str, str]
    ) -> AbstractContextManager[httpx.Response]:
        return self._session.stream("GET", url, headers=headers)


def _merged(pages: Iterator[FlatPage]) -> FolderListing:
    """One listing from its pages, each item once (a tree that changes while it is paged may
    repeat some)."""
    files: dict[str, RemoteFile] = {}
    folders: dict[str, RemoteFolderRef] = {}
    damaged: dict[str, DamagedItem] = {}
    first: FolderListing | None = None
    for page in pages:
        assert page.listing is not None  # nothing was known, so every page is parsed
        first = first or page.listing
        before = len(files) + len(folders) + len(damaged)
        files.update((f.id, f) for f in page.listing.files if f.id not in files)
        folders.update((d.id, d) for d in page.listing.subfolders if d.id not in folders)
        damaged.update((d.id, d) for d in page.listing.damaged if d.id not in damaged)
        if len(files) + len(folders) + len(damaged) == before:
            break  # the server ignored the offset: everything is here already
    assert first is not None
    return replace(
        first,
        files=tuple(files.values()),
        subfolders=tuple(folders.values()),
        damaged=tuple(damaged.values()),
    )


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def _check_name(name: str) -> None:
    # The service has no escaping for these; catch them before they become odd ids.
    if not name or name in (".", "..") or "/" in name or "\x00" in name:
        raise InvalidName(f"invalid name {name!r}", target=name or "(empty)")


def _with_parent(f: RemoteFile, known_folders: set[str]) -> RemoteFile:
    """Flat listings give files no parentId: derive it from the id, if it names a folder
    of the listing (ids are opaque otherwise; see `ids.py`)."""
    if f.parent_id is not None:
        return f
    parent = ids.parent_id_of(f.id)
    if parent is None or parent not in known_folders:
        return f
    return replace(f, parent_id=parent)


def _folder_params(
    *,
    flat: bool = False,
    tree: bool = False,
    show_thumbnails: bool = False,
    filter: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
    restricted_mode: bool = False,
) -> dict[str, str]:
    """The query of a folder GET: flags only when set, as the API's own clients send them."""
    params: dict[str, str] = {}
    for key, on in (
        ("flat", flat),
        ("tree", tree),
        ("showthumbnails", show_thumbnails),
        ("restrictedmode", restricted_mode),
    ):
        if on:
            params[key] = "true"
    if filter is not None:
        params["filter"] = filter
    if limit is not None:
        params["limit"] = str(limit)
    if offset is not None:
        params["offset"] = str(offset)
    return params
