"""The engine of one folder pair: the loop that owns its state.

It keeps three views in memory (local, base, remote), refreshes the local one from scans and
the remote one from listings, asks the pure reconciler for a plan, passes the plan through the
safety gate, has the executor apply it, and writes every result into the store. Only the
engine thread calls it; the watcher and the poller hand it hints and listings.

Our own writes need no echo suppression: after the executor writes a file, the base equals
the disk, so the rescan the watcher triggers plans nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import posixpath
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from syncd.cloud.errors import CloudError, IncompleteListing, NotFound, QuotaExceeded
from syncd.config import PairConfig, SyncOptions
from syncd.errors import NeedsUserError, PathError, RootGuardError, SyncdError, TransientError
from syncd.store import Store
from syncd.sync import absence, localfs
from syncd.sync.commits import CommitBatch
from syncd.sync.excludes import Excludes
from syncd.sync.executor import Cancelled, Executor, Limits, LowDiskSpace, Outcome
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
    Plan,
    Policy,
    Record,
    RemoteEntry,
    Skip,
    Upload,
)
from syncd.sync.reconcile import is_within, reconcile
from syncd.sync.remote import RemoteScan, RemoteSide, temp_owner
from syncd.sync.safety import check_mass_delete

log = logging.getLogger(__name__)

MARKER_KEY = "root_marker"
REMOTE_ROOT_KEY = "remote_root"
REMOTE_ROOT_ID_KEY = "remote_root_id"
LAST_SYNC_KEY = "last_sync"
SELECTIVE_KEY = "selective_excludes"
SHARED_IDENTITIES_KEY = "shared_identities"
# A file identity shared by two files is remembered this long after it was last seen shared.
_SHARED_IDENTITY_DAYS = 30
# Big pages keep a poll to a few calls; the listing of one page is parsed and dropped.
PAGE_SIZE = 10_000
_MAX_BACKOFF = 3600.0
# From this many downloads in one plan, one listing with URLs replaces a GET per file.
_BULK_DOWNLOADS = 32
# Actions that change the local disk: their results are made durable before committed.
_WRITES_LOCALLY = (Download, Conflict, MkdirLocal, MoveLocal, DeleteLocal)
# Another computer's upload temporary this old is orphaned too: a replace renames its
# temporary seconds after the upload ends (the file only appears once fully uploaded).
_FOREIGN_TEMP_AGE = 24 * 3600.0


@dataclass
class SyncReport:
    """What a sync did. `plan` is set for a dry run, which does nothing else."""

    counts: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    bytes_up: int = 0
    bytes_down: int = 0
    passes: int = 0
    plan: Plan | None = None
    offline: str | None = None
    uploads_paused: str | None = None
    downloads_paused: str | None = None
    # The cloud contradicted its own listing: deletes were dropped, the next pass lists again.
    listing_problem: str | None = None
    # Paths an earlier failure keeps out of this sync, and when they are tried again.
    waiting: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            not self.failures
            and self.offline is None
            and self.downloads_paused is None
            and self.listing_problem is None
            and not self.waiting
        )


def action_name(action: object) -> str:
    names = {
        Upload: "upload",
        Download: "download",
        MkdirLocal: "mkdir-local",
        MkdirRemote: "mkdir-cloud",
        DeleteLocal: "trash-local",
        DeleteRemote: "delete-cloud",
        MoveLocal: "move-local",
        MoveRemote: "move-cloud",
        Record: "record",
        Conflict: "conflict",
        Skip: "skip",
    }
    return names.get(type(action), type(action).__name__.lower())


def outcome_name(outcome: Outcome) -> str:
    """`action_name`, except for a conflict that found both sides equal: "equal" (recorded;
    nothing kept twice), which is no conflict at all."""
    action = outcome.action
    if isinstance(action, Conflict) and outcome.ok and outcome.conflict is None:
        return "equal"
    return action_name(action)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def backoff_delay(attempts: int, rng: random.Random) -> float:
    """30 s, 1 min, 2 min, ... up to an hour, with jitter so failures do not march in step."""
    delay = min(_MAX_BACKOFF, 30.0 * 2 ** max(0, attempts - 1))
    return float(delay * rng.uniform(0.75, 1.25))


class PairEngine:
    """Syncs one folder pair. Build it, `prepare()`, then `sync()` or drive it pass by pass."""

    def __init__(
        self,
        pair: PairConfig,
        options: SyncOptions,
        store: Store,
        remote: RemoteSide,
        *,
        hostname: str | None = None,
        now: Callable[[], datetime] = datetime.now,
        clock: Callable[[], float] = time.time,
        stop: threading.Event | None = None,
        limits: Limits | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        rng: random.Random | None = None,
        snapshot_scope: Callable[[], contextlib.AbstractContextManager[object]] = (
            contextlib.nullcontext
        ),
        page_size: int = PAGE_SIZE,
        private_paths: Iterable[Path] = (),
    ) -> None:
        """`private_paths`: syncd's own files and folders (state, token, log, config); any
        that lies inside the root is never synced, on either side."""
        self.pair = pair
        self.options = options
        self.store = store
        self.remote_side = remote
        self.root = pair.local_root
        self.excludes = Excludes(pair.excludes, private=localfs.inside(self.root, private_paths))
        self.hostname = hostname or socket.gethostname().split(".")[0] or "host"
        self.now = now
        self.clock = clock
        self.stop = stop or threading.Event()
        self.on_outcome = on_outcome
        self.on_plan: Callable[[Plan], None] | None = None
        self.rng = rng or random.Random()
        # Wraps the loading and scanning that open `sync` (see `cli.process`).
        self.snapshot_scope = snapshot_scope
        self.page_size = page_size
        self.executor = Executor(
            self.root,
            remote,
            self.excludes,
            transfers=options.transfers,
            limits=limits,
            stop=self.stop,
            now=now,
            min_free_space=options.min_free_space,
            min_free_percent=options.min_free_percent,
        )
        self.base: dict[str, BaseEntry] = {}
        self.local: dict[str, LocalEntry] = {}
        self.unreadable: set[str] = set()
        self.partials: set[str] = set()
        self.remote: dict[str, RemoteEntry] = {}
        self.urls: dict[str, str] = {}
        self.hidden: set[str] = set()
        # Names of cloud items the listing could not place: any path so named may be one.
        self.unplaced: set[str] = set()
        # What the listing could not read whole (see `RemoteScan.damage`).
        self.listing_damage: list[str] = []
        self._said: set[str] = set()  # the listing's notes already logged
        self.temporaries: dict[str, RemoteEntry] = {}
        self.retry_at: dict[str, float] = {}
        self.remote_generation = 0
        self.remote_stale = True
        self.remote_changed = True
        self.prepared = False
        # Identities two synced files have shared -> when last seen (see `apply`).
        self.shared: dict[tuple[int, int], float] = {}

    # --- setting up ----------------------------------------------------------------------

    def prepare(self, *, dry_run: bool = False) -> None:
        """Guard the root, load the base, find the remote folder. Raises RootGuardError."""
        self.base = self.store.load_base()
        self.retry_at = {f.rel_path: f.retry_at for f in self.store.failures()}
        self._load_shared_identities()
        self.check_root(dry_run=dry_run)
        self._forget_unconfirmed_uploads(dry_run=dry_run)
        self.remote_side.temp_tag = (self.store.get_meta(MARKER_KEY) or "")[:8]
        self.load_selective()
        if not dry_run:
            self.purge_trash()
        first_sync = not self.base
        known_id = self.store.get_meta(REMOTE_ROOT_ID_KEY)
        same_root = self.store.get_meta(REMOTE_ROOT_KEY) == self.pair.remote_root
        if known_id and same_root and not first_sync:
            # Trust the remembered id; a listing that finds it gone re-resolves the path.
            self.remote_side.root_id = known_id
        elif dry_run and first_sync:
            try:
                self.remote_side.resolve_root(create=False)
            except RootGuardError:
                self.remote_side.root_id = None  # nothing there yet: an empty remote side
        else:
            root_id = self.remote_side.resolve_root(create=first_sync)
            if not dry_run:
                self.store.set_meta(REMOTE_ROOT_KEY, self.pair.remote_root)
                self.store.set_meta(REMOTE_ROOT_ID_KEY, root_id)
        self.prepared = True

    def _forget_unconfirmed_uploads(self, *, dry_run: bool) -> None:
        """Uploads whose dates an earlier run never saw in a listing are not trusted.

        Within a run, the listing right after a pass confirms an upload by id and size. If
        the run stopped first, another client may have replaced the file with one of the
        same size meanwhile: forgetting the base row makes the next plan compare contents
        (equal: recorded; different: both kept), never trust a look-alike.
        """
        doubtful = {
            path: None
            for path, entry in self.base.items()
            if entry.kind is Kind.FILE and not entry.remote_dates_known
        }
        if not doubtful:
            return
        log.info("%s: %d earlier uploads to confirm by content", self.pair.name, len(doubtful))
        for path in doubtful:
            del self.base[path]
        if not dry_run:
            self.store.apply(doubtful)

    def load_selective(self) -> bool:
        """Pick up `syncd exclude add/remove`; True if the excluded folders changed.

        Newly excluded folders leave the base (so nothing there is ever read as deleted, on
        either side); they and everything below them become invisible to planning.
        """
        folders = frozenset(self.store.get_meta_json(SELECTIVE_KEY) or ())
        if folders == self.excludes.folders:
            return False
        self.excludes = self.excludes.with_folders(folders)
        self.executor.excludes = self.excludes
        gone = {path: None for path in self.base if self.excludes.in_folders(path)}
        if gone:
            self.store.apply(gone)
            for path in gone:
                del self.base[path]
        self.local = {p: e for p, e in self.local.items() if not self.excludes.in_folders(p)}
        self.remote = {p: e for p, e in self.remote.items() if not self.excludes.in_folders(p)}
        self.remote_stale = True
        return True

    def purge_trash(self) -> int:
        """Empty trash buckets older than the retention; returns how many went."""
        return localfs.purge_trash(
            self.root, self.now(), retention_days=self.options.trash_retention_days
        )

    def check_root(self, *, dry_run: bool = False) -> None:
        """The local root must be the folder we synced: present, with our marker inside."""
        marker = self.store.get_meta(MARKER_KEY)
        if marker is None:
            if self.base:
                raise RootGuardError(
                    f"state for {self.root} has no root marker; run `syncd reset` to rebuild it"
                )
            if dry_run:
                return
            try:
                self.root.mkdir(parents=False, exist_ok=True)
            except FileNotFoundError:
                raise RootGuardError(
                    f"cannot create the local folder {self.root}: its parent does not exist"
                ) from None
            except FileExistsError:
                raise RootGuardError(
                    f"the local folder {self.root} is a file, not a folder: change `local` "
                    "in the configuration or move the file away"
                ) from None
            if not self.root.is_dir():
                raise RootGuardError(f"the local folder {self.root} is not a folder")
            self.store.set_meta(MARKER_KEY, localfs.write_marker(self.root))
            return
        if not self.root.is_dir():
            raise RootGuardError(
                f"the local folder {self.root} is missing (or not a folder): nothing was "
                "deleted in the cloud. Mount or restore it, or run `syncd reset` to start over."
            )
        found = localfs.read_marker(self.root)
        if found != marker:
            raise RootGuardError(
                f"{self.root} is not the folder that was synced (its .syncd marker is "
                f"{'missing' if found is None else 'different'}): nothing was deleted in the "
                "cloud. Restore the folder, or run `syncd reset` to sync it from scratch."
            )

    # --- views ---------------------------------------------------------------------------

    def scan_local(self, subtrees: Iterable[str] | None = None) -> None:
        """Refresh the local view, entirely or for some subtrees (watcher hints)."""
        roots = None if subtrees is None else sorted(set(subtrees))
        found = localfs.scan(self.root, self.base, self.excludes, roots)
        for note in found.notes:
            log.debug("%s: %s", self.pair.name, note)
        if roots is None or "" in roots:
            self.local = found.entries
            self.unreadable = found.unreadable
            self.partials = found.partials
            return
        tops = [r for r in roots if not any(is_within(r, o) and r != o for o in roots)]
        for top in tops:
            for path in [p for p in self.local if is_within(p, top)]:
                del self.local[path]
            self.unreadable = {p for p in self.unreadable if not is_within(p, top)}
            self.partials = {p for p in self.partials if not is_within(p, top)}
        self.local.update(found.entries)
        self.unreadable |= found.unreadable
        self.partials |= found.partials

    def scan_both(self) -> None:
        """Scan the disk while the cloud is listed: the listing mostly waits on the network
        and the scan on the disk, so side by side they take about as long as the longer."""
        generation = self.remote_generation
        with ThreadPoolExecutor(1, thread_name_prefix="syncd-list") as pool:
            listing = pool.submit(self.fetch_remote)
            self.scan_local()
            scan = listing.result()
        self.set_remote(scan, generation)

    def poll_remote(self) -> None:
        self.set_remote(self.fetch_remote(), self.remote_generation)

    def fetch_remote(self) -> RemoteScan:
        """One listing of the remote folder (callable from the poller thread)."""
        if self.remote_side.root_id is None:
            return RemoteScan(root_id="")
        # Before the first sync whatever the cloud holds is new here: ask for the download
        # URLs at once rather than list it all again to get them (`_fetch_download_urls`).
        with_urls = not self.base
        try:
            return self.remote_side.scan(
                self.excludes, page_size=self.page_size, with_urls=with_urls
            )
        except NotFound:
            # Renamed, moved or deleted: find it by path again, or stop (RootGuardError).
            self.remote_side.resolve_root(create=False)
            return self.remote_side.scan(
                self.excludes, page_size=self.page_size, with_urls=with_urls
            )

    def set_remote(self, scan: RemoteScan, generation: int) -> bool:
        """Take a listing unless we changed the cloud after it was started."""
        if generation != self.remote_generation:
            self.remote_stale = True
            return False
        # The daemon lists the cloud every minute; most listings change nothing, and a pass
        # over a big unchanged tree is then pure waste.
        self.remote_changed = (
            scan.entries != self.remote
            or scan.hidden != self.hidden
            or scan.unplaced_names != self.unplaced
        )
        self.remote = scan.entries
        self.urls = scan.urls
        self.hidden = scan.hidden
        self.unplaced = scan.unplaced_names
        self.listing_damage = scan.damage
        self.temporaries = scan.temporaries
        # A daemon lists every minute: say each problem once, not once a poll.
        for note in scan.notes:
            if note not in self._said:
                log.warning("%s: cloud: %s", self.pair.name, note)
        self._said = set(scan.notes)
        self.remote_stale = False
        return True

    def retry_due(self) -> bool:
        """Has a failed path's retry time come (so a pass is worth it even with no change)?"""
        now = self.clock()
        return any(when <= now for when in self.retry_at.values())

    # --- planning ------------------------------------------------------------------------

    def policy(self) -> Policy:
        return Policy(
            conflict_policy=self.pair.conflict_policy,
            host=self.hostname,
            now=self.now().strftime("%Y-%m-%d %H%M%S"),
            shared_identities=frozenset(self.shared),
        )

    def _remember_shared_identities(self) -> None:
        """Note the identities (size, creation second) two base files share, in the DB and
        before any action runs: once an action removed one of the two (even in a run that
        was then stopped), the other's look-alike must not pass for a move. Plans only see
        a shared identity in the base while both files are there."""
        counts = Counter(
            (entry.size, entry.remote_created)
            for entry in self.base.values()
            if entry.kind is Kind.FILE and entry.remote_created
        )
        now = self.now().timestamp()
        shared_now = {identity for identity, count in counts.items() if count > 1}
        unseen = shared_now - self.shared.keys()
        self.shared.update(dict.fromkeys(shared_now, now))
        if unseen:
            rows = [[size, created, seen] for (size, created), seen in self.shared.items()]
            self.store.set_meta(SHARED_IDENTITIES_KEY, json.dumps(rows))

    def _load_shared_identities(self) -> None:
        raw = self.store.get_meta(SHARED_IDENTITIES_KEY)
        oldest = self.now().timestamp() - _SHARED_IDENTITY_DAYS * 86400
        try:
            rows = json.loads(raw) if raw else []
            self.shared = {(int(s), int(c)): float(t) for s, c, t in rows if float(t) >= oldest}
        except (ValueError, TypeError):
            # Damaged: forget it; moves are then judged on the current base alone.
            self.shared = {}

    def skip_set(self) -> frozenset[str]:
        now = self.clock()
        waiting = {path for path, when in self.retry_at.items() if when > now}
        return frozenset(self.unreadable | self.hidden | waiting | self._unplaced_paths())

    def _unplaced_paths(self) -> set[str]:
        """Every known path named as a cloud item the listing could not place."""
        names = self.unplaced
        if not names:
            return set()
        return {
            path
            for view in (self.base, self.local, self.remote)
            for path in view
            if path.rpartition("/")[2] in names
        }

    def plan(self) -> Plan:
        return reconcile(self.local, self.base, self.remote, self.policy(), skip=self.skip_set())

    # --- applying ------------------------------------------------------------------------

    def apply(self, plan: Plan, report: SyncReport, *, allow_mass_delete: bool) -> bool:
        """Check and apply one plan; True if anything changed (so another pass may help)."""
        if not allow_mass_delete:
            self.check_plan(plan)
        plan = self._confirm_absence(plan, report)
        self._remember_shared_identities()
        self._fetch_download_urls(plan)
        try:
            batch = CommitBatch(self.store, self.clock, self.root)
        except OSError:
            # The folder went (or was swapped) since the pass checked it: that is the root
            # guard's to say, not an engine crash.
            self.check_root()
            raise
        progress = False
        rescan: set[str] = set()
        abort: list[BaseException] = []

        def take(outcome: Outcome) -> None:
            nonlocal progress
            if abort:
                return
            self._absorb(outcome, batch, report, rescan)
            if outcome.ok and not isinstance(outcome.action, Skip):
                progress = True
            error = outcome.error
            if isinstance(error, NeedsUserError) or (
                isinstance(error, TransientError) and not isinstance(error, PathError)
            ):
                abort.append(error)
                self.executor.stop_run.set()

        self.executor.stop_run.clear()
        self.executor.partial_folders |= {posixpath.dirname(p) for p in self.partials}
        try:
            self.executor.run(plan, self.base, self.remote, self.urls, take)
        finally:
            self.executor.pause_uploads = False
            self.executor.pause_downloads = False
            batch.close()  # last: it may raise (a failed flush)
        if rescan:
            self.scan_local(rescan)
        if abort:
            error = abort[0]
            if isinstance(error, NeedsUserError):
                raise error
            report.offline = str(error)
        return progress

    def check_plan(self, plan: Plan) -> None:
        """The mass-delete brake: `MassDeleteError` if `plan` deletes too much of a side
        (a dry run asks too, so that it refuses what the real run would)."""
        check_mass_delete(plan, self.base, max_percent=self.options.max_delete_percent)

    def _confirm_absence(self, plan: Plan, report: SyncReport) -> Plan:
        """Drop the local deletes the cloud contradicts when asked directly (`absence`)."""
        groups = absence.deletes_by_listed_folder(plan, self.remote)
        if not groups:
            return plan
        assert self.remote_side.root_id is not None
        problems: list[str] = []

        def children(folder: str) -> absence.Children | None:
            folder_id = self.remote[folder].id if folder else self.remote_side.root_id
            assert folder_id is not None
            try:
                return self.remote_side.children(folder_id, page_size=self.page_size)
            except NotFound:
                return None  # gone since the listing: list again before deleting anything
            except IncompleteListing as exc:
                problems.append(str(exc))
                return absence.Children(frozenset(), unreadable=True)

        verdict = absence.judge(groups, children)
        # Until the next listing, what it contradicted (or could not confirm) is unknown:
        # later passes on this listing plan nothing there, and ask nothing again.
        self.hidden = self.hidden | verdict.dropped
        if verdict.contradicted:
            shown = ", ".join(sorted(verdict.contradicted)[:3])
            more = len(verdict.contradicted) - 3
            detail = (
                problems[0]
                if problems
                else (f"it left out {shown}" + (f" and {more} more" if more > 0 else ""))
            )
            report.listing_problem = (
                f"the cloud listing was incomplete ({detail}): nothing was deleted locally "
                "because of it; the cloud is listed again"
            )
            log.warning("%s: %s", self.pair.name, report.listing_problem)
        return absence.without(plan, verdict.dropped)

    def _fetch_download_urls(self, plan: Plan) -> None:
        """Many downloads: one listing that carries download URLs beats a GET per file.

        Listings leave URLs out unless asked (they weigh on every poll of a big tree), so a
        plan that downloads a good share of the tree asks once for a listing with them.
        """
        wanted = [
            action.rel_path
            for action in plan.actions
            if isinstance(action, Download | Conflict) and action.rel_path not in self.urls
        ]
        if len(wanted) < _BULK_DOWNLOADS or len(wanted) * 20 < len(self.remote):
            return
        try:
            listing = self.remote_side.scan(self.excludes, page_size=self.page_size, with_urls=True)
        except SyncdError as exc:
            log.info(
                "%s: no listing with download URLs (%s); one GET per file", self.pair.name, exc
            )
            return
        for rel_path in wanted:
            url = listing.urls.get(rel_path)
            current = listing.entries.get(rel_path)
            # Only for the very version the plan downloads: anything else is planned again.
            if url and current is not None and current == self.remote.get(rel_path):
                self.urls[rel_path] = url

    def _absorb(
        self, outcome: Outcome, batch: CommitBatch, report: SyncReport, rescan: set[str]
    ) -> None:
        action = outcome.action
        for path, base_entry in outcome.base.items():
            if base_entry is None:
                self.base.pop(path, None)
            else:
                self.base[path] = base_entry
        for path, local_entry in outcome.local.items():
            if local_entry is None:
                self.local.pop(path, None)
            else:
                self.local[path] = local_entry
        if outcome.remote:
            self.remote_generation += 1
            # Uploads return only an id: their dates come from the next listing.
            self.remote_stale = self.remote_stale or not outcome.remote_fresh
            for path, remote_entry in outcome.remote.items():
                if remote_entry is None:
                    self.remote.pop(path, None)
                    self.urls.pop(path, None)
                else:
                    self.remote[path] = remote_entry
        rescan |= outcome.rescan
        batch.writes.base.update(outcome.base)
        if outcome.ok and isinstance(action, _WRITES_LOCALLY):
            batch.writes.durable = True
        if outcome.conflict is not None:
            batch.writes.conflicts.append(outcome.conflict)
            report.conflicts.append(outcome.conflict[0])
        name = outcome_name(outcome)
        if outcome.error is None:
            if outcome.ok:
                report.counts[name] += 1
                if isinstance(action, Upload):
                    report.bytes_up += outcome.transferred
                elif isinstance(action, Download | Conflict):
                    report.bytes_down += outcome.transferred
                if action.rel_path in self.retry_at:
                    del self.retry_at[action.rel_path]
                    batch.writes.cleared.append(action.rel_path)
        elif isinstance(outcome.error, LowDiskSpace):
            # Not the path's fault: every download waits for space, and the next pass retries.
            report.downloads_paused = str(outcome.error)
        elif not isinstance(outcome.error, Cancelled):
            self._failed(action.rel_path, name, outcome.error, batch, report)
            if isinstance(outcome.error, QuotaExceeded):
                self.executor.pause_uploads = True
                report.uploads_paused = "the cloud is full (NO_SPACE_LEFT)"
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        batch.maybe_flush()

    def _failed(
        self, rel_path: str, name: str, error: BaseException, batch: CommitBatch, report: SyncReport
    ) -> None:
        message = str(error)
        report.failures[rel_path] = message
        attempts = batch.record_failure(rel_path, name, message)
        delay = backoff_delay(attempts, self.rng)
        retry = self.clock() + delay
        batch.writes.retries[rel_path] = retry
        self.retry_at[rel_path] = retry
        # One line per path and backoff step, naming the path once.
        reason = message.removeprefix(f"{rel_path}: ")
        log.warning(
            "%s: %s %s failed (attempt %d; next try in %s): %s",
            self.pair.name,
            name,
            rel_path,
            attempts,
            _duration(delay),
            reason,
        )

    # --- whole syncs ---------------------------------------------------------------------

    def converge(self, report: SyncReport, *, allow_mass_delete: bool, max_passes: int) -> None:
        """Plan and apply until there is nothing left to do (or nothing more can be done)."""
        for _ in range(max_passes):
            if self.stop.is_set():
                return
            if self.remote_stale:
                self.poll_remote()
            self.sweep_temporaries()
            plan = self.plan()
            if not plan:
                self.drop_orphan_partials()
                return
            report.passes += 1
            if self.on_plan is not None:
                self.on_plan(plan)
            progressed = self.apply(plan, report, allow_mass_delete=allow_mass_delete)
            if report.offline or report.listing_problem or not progressed:
                return

    def sweep_temporaries(self) -> None:
        """Delete upload temporaries a killed or failed replace left in the cloud.

        Called between plans, when no transfer of this engine is in flight: a temporary
        with this pair's tag is then an orphan (one listed before its replace finished is
        gone by now, and deleting it finds nothing). Another pair's, or another computer's,
        is left for a day first. Untagged ones are left alone: a move may park an item under
        such a name (`RemoteSide.move`). Only files are ever swept, never folders.
        """
        tag = self.remote_side.temp_tag
        for rel_path, entry in sorted(self.temporaries.items()):
            owner = temp_owner(rel_path.rpartition("/")[2])
            if owner is None:
                continue
            if owner != tag and self.clock() - entry.created < _FOREIGN_TEMP_AGE:
                continue
            try:
                self.remote_side.client.delete_file(entry.id)
            except NotFound:
                pass
            except CloudError as exc:  # offline or refused: the next sweep tries again
                log.info("%s: could not remove the temporary %s: %s", self.pair.name, rel_path, exc)
                return
            log.info("%s: removed the upload temporary %s", self.pair.name, rel_path)
            del self.temporaries[rel_path]

    def drop_orphan_partials(self) -> None:
        """With nothing left to do, remove the partial downloads nothing will resume: all but
        those of a version a download waiting to retry still wants. (One of a version the
        cloud still holds can be an orphan too: a folder moved with a partial inside, or a
        file that reached the disk by another way.)"""
        if not self.partials:
            return
        wanted = {
            entry.fingerprint_tag()
            for rel_path in self.retry_at
            if (entry := self.remote.get(rel_path)) is not None and entry.kind is Kind.FILE
        }
        for rel_path in sorted(self.partials):
            if localfs.partial_version(rel_path) not in wanted:
                localfs.remove_partial(self.root, rel_path)
                self.partials.discard(rel_path)

    def mark_synced(self) -> float:
        """Remember when this pair was last fully in sync (for `syncd status`)."""
        when = self.clock()
        self.store.set_meta(LAST_SYNC_KEY, repr(when))
        return when

    def sync(
        self, *, dry_run: bool = False, allow_mass_delete: bool = False, max_passes: int = 12
    ) -> SyncReport:
        """One complete sync: scan both sides, then converge (or just plan, for a dry run)."""
        report = SyncReport()
        with self.snapshot_scope():
            if not self.prepared:
                self.prepare(dry_run=dry_run)
            else:
                self.check_root()
            self.scan_both()
        if dry_run:
            report.plan = self.plan()
            return report
        self.converge(report, allow_mass_delete=allow_mass_delete, max_passes=max_passes)
        if self.listing_damage and report.listing_problem is None:
            count = len(self.listing_damage)
            report.listing_problem = (
                f"the cloud listing could not be read whole ({self.listing_damage[0]}"
                + (f"; {count - 1} more" if count > 1 else "")
                + "): what it may stand for was left alone on both sides"
            )
        now = self.clock()
        report.waiting = {
            path: when
            for path, when in sorted(self.retry_at.items())
            if path not in report.failures and when > now
        }
        if report.ok and not self.stop.is_set():
            self.mark_synced()
        report.notes.extend(
            sorted(f"{path}: not synced (unreadable or a link)" for path in self.unreadable)
        )
        return report


def default_state_path(state_dir: Path, pair_name: str) -> Path:
    return state_dir / "pairs" / pair_name / "state.db"
