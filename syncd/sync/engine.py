"""The engine of one folder pair: the one owner of a pass.

A pass refreshes the views (`views`: the disk scanned, the cloud listed), asks the pure
reconciler for a plan, passes it through the gates (`safety`: the mass-delete brake;
`absence`: a delete read from a listing is confirmed first), has the executor apply it, and
commits every result (`commits`). `run_pass` is that pass, for `syncd sync` and the daemon's
runner alike; `sync` is a whole one-off sync. Only the pair's engine thread calls it.

Our own writes need no echo suppression: after the executor writes a file, the base equals
the disk, so the rescan the watcher triggers plans nothing.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from syncd.cloud.errors import IncompleteListing, NotFound, QuotaExceeded
from syncd.errors import NeedsUserError, PathError, RootGuardError, SyncdError, TransientError
from syncd.state_reader import LAST_SYNC_KEY, SELECTIVE_KEY
from syncd.store import MARKER_KEY, REMOTE_ROOT_ID_KEY, REMOTE_ROOT_KEY, Store
from syncd.sync import absence, housekeeping, localfs
from syncd.sync.commits import CommitBatch
from syncd.sync.excludes import Excludes
from syncd.sync.executor import Cancelled, Executor, Limits, LowDiskSpace, Outcome, RunControl
from syncd.sync.identities import SharedIdentities
from syncd.sync.model import (
    Conflict,
    DeleteLocal,
    Download,
    Kind,
    MkdirLocal,
    MoveLocal,
    Plan,
    Policy,
    Skip,
    Upload,
)
from syncd.sync.options import PairOptions, SyncOptions
from syncd.sync.reconcile import reconcile
from syncd.sync.remote import RemoteScan, RemoteSide
from syncd.sync.report import Observers, SyncReport, outcome_name
from syncd.sync.retries import Retries, shown_delay
from syncd.sync.safety import check_mass_delete, check_root
from syncd.sync.views import Views

log = logging.getLogger(__name__)

# Big pages keep a poll to a few calls; the listing of one page is parsed and dropped.
PAGE_SIZE = 10_000
# From this many downloads in one plan, one listing with URLs replaces a GET per file.
_BULK_DOWNLOADS = 32
# Actions that change the local disk: their results are made durable before committed.
_WRITES_LOCALLY = (Download, Conflict, MkdirLocal, MoveLocal, DeleteLocal)


class PairEngine:
    """Syncs one folder pair: `prepare()`, then `run_pass()` as often as wanted, or `sync()`.

    `private_paths`: syncd's own files and folders (state, token, log, config); any that
    lies inside the root is never synced, on either side.
    """

    def __init__(
        self,
        pair: PairOptions,
        options: SyncOptions,
        store: Store,
        remote: RemoteSide,
        *,
        hostname: str | None = None,
        now: Callable[[], datetime] = datetime.now,
        clock: Callable[[], float] = time.time,
        stop: threading.Event | None = None,
        limits: Limits | None = None,
        observers: Observers | None = None,
        rng: random.Random | None = None,
        snapshot_scope: Callable[[], contextlib.AbstractContextManager[object]] = (
            contextlib.nullcontext
        ),
        page_size: int = PAGE_SIZE,
        private_paths: Iterable[Path] = (),
    ) -> None:
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
        self.observers = observers or Observers()
        # Wraps the loading and scanning that open `sync` (see `cli.process`).
        self.snapshot_scope = snapshot_scope
        self.page_size = page_size
        self.executor = Executor(
            self.root,
            remote,
            transfers=options.transfers,
            limits=limits,
            stop=self.stop,
            now=now,
            min_free_space=options.min_free_space,
            min_free_percent=options.min_free_percent,
            observers=self.observers,
        )
        self.views = Views()
        self.retries = Retries(clock, rng or random.Random())
        self.identities = SharedIdentities(store, now)
        self.prepared = False
        self.interrupted = False  # the last pass was halted with work left

    # --- setting up ----------------------------------------------------------------------

    def prepare(self, *, dry_run: bool = False) -> None:
        """Guard the root, load the base, find the remote folder. Raises RootGuardError."""
        self.views.load_base(self.store.load_base())
        self.retries.load(self.store.failures())
        self.identities.load()
        self.check_root(dry_run=dry_run)
        self._forget_unconfirmed_uploads(dry_run=dry_run)
        self.remote_side.tag_temporaries((self.store.get_meta(MARKER_KEY) or "")[:8])
        self.load_selective()
        if not dry_run:
            self.purge_trash()
        first_sync = not self.views.base
        known_id = self.store.get_meta(REMOTE_ROOT_ID_KEY)
        same_root = self.store.get_meta(REMOTE_ROOT_KEY) == self.pair.remote_root
        if known_id and same_root and not first_sync:
            # Trust the remembered id; a listing that finds it gone re-resolves the path.
            self.remote_side.use_root(known_id)
        elif dry_run and first_sync:
            try:
                self.remote_side.resolve_root(create=False)
            except RootGuardError:
                self.remote_side.use_root(None)  # nothing there yet: an empty remote side
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
        base = self.views.base
        doubtful = {
            path: None
            for path, entry in base.items()
            if entry.kind is Kind.FILE and not entry.remote_dates_known
        }
        if not doubtful:
            return
        log.info("%s: %d earlier uploads to confirm by content", self.pair.name, len(doubtful))
        for path in doubtful:
            del base[path]
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
        gone = self.views.forget_excluded(self.excludes)
        if gone:
            self.store.apply(gone)
        return True

    def purge_trash(self) -> int:
        """Empty trash buckets older than the retention; returns how many went."""
        return localfs.purge_trash(
            self.root, self.now(), retention_days=self.options.trash_retention_days
        )

    def check_root(self, *, dry_run: bool = False) -> None:
        marker = check_root(
            self.root,
            self.store.get_meta(MARKER_KEY),
            synced=bool(self.views.base),
            dry_run=dry_run,
        )
        if marker is not None:
            self.store.set_meta(MARKER_KEY, marker)

    # --- the views -----------------------------------------------------------------------

    def scan_local(self, subtrees: Iterable[str] | None = None) -> None:
        """Refresh the local view, entirely or for some subtrees (watcher hints)."""
        roots = None if subtrees is None else sorted(set(subtrees))
        found = localfs.scan(self.root, self.views.base, self.excludes, roots)
        for note in found.notes:
            log.debug("%s: %s", self.pair.name, note)
        self.views.take_scan(found, roots)

    def scan_both(self) -> None:
        """Scan the disk while the cloud is listed: the listing mostly waits on the network
        and the scan on the disk, so side by side they take about as long as the longer."""
        generation = self.views.generation
        with ThreadPoolExecutor(1, thread_name_prefix="syncd-list") as pool:
            listing = pool.submit(self.fetch_remote)
            self.scan_local()
            scan = listing.result()
        self.take_listing(scan, generation)

    def fetch_remote(self) -> RemoteScan:
        """One listing of the remote folder (callable from the poller thread)."""
        if self.remote_side.root_id is None:
            return RemoteScan(root_id="")
        # Before the first sync whatever the cloud holds is new here: ask for the download
        # URLs at once rather than list it all again to get them (`_fetch_download_urls`).
        with_urls = not self.views.base
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

    def take_listing(self, scan: RemoteScan, generation: int) -> bool:
        """Take a listing unless we changed the cloud after it was started."""
        return self.views.take_listing(
            scan, generation, lambda note: log.warning("%s: cloud: %s", self.pair.name, note)
        )

    # --- a pass --------------------------------------------------------------------------

    def run_pass(
        self,
        hints: Iterable[str] | None,
        listing: tuple[RemoteScan, int] | None,
        *,
        full: bool,
        allow_mass_delete: bool = False,
        max_passes: int = 12,
    ) -> SyncReport | None:
        """One pass: check the root, take what changed, plan and apply until nothing is left.

        `hints`: the local subtrees to scan again (None: the whole root); `listing`: a new
        listing with the generation it was started at (None: the cloud is listed only if
        the view is stale); `full`: scan everything and tidy the trash (the daemon's
        hourly rescan). Returns None when nothing has changed and nothing is due, and the
        report otherwise.
        """
        self.check_root()
        if self.load_selective():
            full = True
        if full:
            self.purge_trash()
        local_news = bool(hints) or hints is None or full
        if full or hints is None:
            if listing is None and self.views.stale:
                self.scan_both()
            else:
                self.scan_local()
        elif hints:
            self.scan_local(hints)
        remote_news = listing is not None and self.take_listing(*listing) and self.views.changed
        due = self.views.stale or self.retries.due() or self.interrupted
        if not (local_news or remote_news or due):
            return None
        report = SyncReport()
        self.converge(report, allow_mass_delete=allow_mass_delete, max_passes=max_passes)
        return report

    def sync(
        self, *, dry_run: bool = False, allow_mass_delete: bool = False, max_passes: int = 12
    ) -> SyncReport:
        """One complete sync, as `syncd sync` makes it (or just its plan, for a dry run)."""
        with self.snapshot_scope():
            if not self.prepared:
                self.prepare(dry_run=dry_run)
            else:
                self.check_root()
            self.scan_both()
        if dry_run:
            return SyncReport(plan=self.plan())
        report = SyncReport()
        self.converge(report, allow_mass_delete=allow_mass_delete, max_passes=max_passes)
        self.finish(report)
        return report

    def finish(self, report: SyncReport) -> None:
        """What a whole sync adds to its report: what the listing could not read, what waits
        to retry, what could not be read here; and when all is well, that it is in sync."""
        damage = self.views.listing_damage
        if damage:
            report.listing_incomplete(
                f"the cloud listing could not be read whole ({damage[0]}"
                + (f"; {len(damage) - 1} more" if len(damage) > 1 else "")
                + "): what it may stand for was left alone on both sides"
            )
        report.still_waiting(self.retries.waiting(report.failures))
        if report.ok and not self.stop.is_set():
            self.mark_synced()
        report.notes.extend(
            sorted(f"{path}: not synced (unreadable or a link)" for path in self.views.unreadable)
        )

    def mark_synced(self) -> float:
        """Remember when this pair was last fully in sync (for `syncd status`)."""
        when = self.clock()
        self.store.set_meta(LAST_SYNC_KEY, repr(when))
        return when

    def converge(self, report: SyncReport, *, allow_mass_delete: bool, max_passes: int) -> None:
        """Plan and apply until there is nothing left to do (or nothing more can be done)."""
        views = self.views
        self.interrupted = False
        for _ in range(max_passes):
            if self.stop.is_set():
                return
            if views.stale:
                self.take_listing(self.fetch_remote(), views.generation)
            housekeeping.sweep_temporaries(
                self.pair.name, self.remote_side, views.temporaries, self.clock
            )
            plan = self.plan()
            if not plan:
                housekeeping.drop_orphan_partials(
                    self.root, views.partials, views.remote, self.retries.at
                )
                return
            if self.observers.plan is not None:
                self.observers.plan(plan)
            progressed = self.apply(plan, report, allow_mass_delete=allow_mass_delete)
            if self.executor.halted():
                # Halted from outside (the daemon pauses the pair): plan nothing more now,
                # and take it up again at the next pass whatever else has changed.
                self.interrupted = True
                return
            if report.offline or report.listing_problem or not progressed:
                return

    # --- planning ------------------------------------------------------------------------

    def policy(self) -> Policy:
        return Policy(
            conflict_policy=self.pair.conflict_policy,
            host=self.hostname,
            now=self.now().strftime("%Y-%m-%d %H%M%S"),
            shared_identities=self.identities.known(),
        )

    def plan(self) -> Plan:
        views = self.views
        skip = views.skip_set(self.retries.backing_off())
        return reconcile(views.local, views.base, views.remote, self.policy(), skip=skip)

    def check_plan(self, plan: Plan) -> None:
        """The mass-delete brake: `MassDeleteError` if `plan` deletes too much of a side
        (a dry run asks too, so that it refuses what the real run would)."""
        check_mass_delete(plan, self.views.base, max_percent=self.options.max_delete_percent)

    # --- applying ------------------------------------------------------------------------

    def apply(self, plan: Plan, report: SyncReport, *, allow_mass_delete: bool) -> bool:
        """Check and apply one plan; True if anything changed (so another pass may help)."""
        if not allow_mass_delete:
            self.check_plan(plan)
        plan = self._confirm_absence(plan, report)
        views = self.views
        self.identities.remember(views.base.values())
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
        run = self.executor.new_run({posixpath.dirname(p) for p in views.partials})

        def take(outcome: Outcome) -> None:
            nonlocal progress
            if abort:
                return
            self._absorb(outcome, batch, report, run)
            rescan.update(outcome.rescan)
            if outcome.ok and not isinstance(outcome.action, Skip):
                progress = True
            error = outcome.error
            if isinstance(error, NeedsUserError) or (
                isinstance(error, TransientError) and not isinstance(error, PathError)
            ):
                abort.append(error)
                run.halt()

        try:
            self.executor.run(plan, run, views.base, views.remote, views.urls, self.excludes, take)
        finally:
            batch.close()  # last: it may raise (a failed flush)
        if rescan:
            self.scan_local(rescan)
        if abort:
            error = abort[0]
            if isinstance(error, NeedsUserError):
                raise error
            report.stopped(str(error))
        return progress

    def _confirm_absence(self, plan: Plan, report: SyncReport) -> Plan:
        """Drop the local deletes the cloud contradicts when asked directly (`absence`)."""
        views = self.views
        groups = absence.deletes_by_listed_folder(plan, views.remote)
        if not groups:
            return plan
        root_id = self.remote_side.root_id
        assert root_id is not None
        problems: list[str] = []

        def children(folder: str) -> absence.Children | None:
            folder_id = views.remote[folder].id if folder else root_id
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
        views.hide(verdict.dropped)
        if verdict.contradicted:
            report.listing_incomplete(absence.describe(verdict, problems))
            log.warning("%s: %s", self.pair.name, report.listing_problem)
        return absence.without(plan, verdict.dropped)

    def _fetch_download_urls(self, plan: Plan) -> None:
        """Many downloads: one listing that carries download URLs beats a GET per file.

        Listings leave URLs out unless asked (they weigh on every poll of a big tree), so a
        plan that downloads a good share of the tree asks once for a listing with them.
        """
        views = self.views
        wanted = [
            action.rel_path
            for action in plan.actions
            if isinstance(action, Download | Conflict) and action.rel_path not in views.urls
        ]
        if len(wanted) < _BULK_DOWNLOADS or len(wanted) * 20 < len(views.remote):
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
            if url and current is not None and current == views.remote.get(rel_path):
                views.urls[rel_path] = url

    def _absorb(
        self, outcome: Outcome, batch: CommitBatch, report: SyncReport, run: RunControl
    ) -> None:
        """One action's result: into the views, the commit batch and the report."""
        action = outcome.action
        self.views.absorb(outcome)
        batch.take(outcome.base, durable=outcome.ok and isinstance(action, _WRITES_LOCALLY))
        if outcome.conflict is not None:
            batch.conflict(*outcome.conflict)
            report.conflicts.append(outcome.conflict[0])
        name = outcome_name(outcome)
        error = outcome.error
        if error is None:
            if outcome.ok:
                up = outcome.transferred if isinstance(action, Upload) else 0
                down = outcome.transferred if isinstance(action, Download | Conflict) else 0
                report.done(name, up=up, down=down)
                if self.retries.clear(action.rel_path):
                    batch.cleared(action.rel_path)
        elif isinstance(error, LowDiskSpace):
            # Not the path's fault: every download waits for space, and the next pass retries.
            report.pause_downloads(str(error))
        elif not isinstance(error, Cancelled):
            self._failed(action.rel_path, name, error, batch, report)
            if isinstance(error, QuotaExceeded):
                run.pause_uploads()
                report.pause_uploads("the cloud is full (NO_SPACE_LEFT)")
        if self.observers.outcome is not None:
            self.observers.outcome(outcome)
        batch.maybe_flush()

    def _failed(
        self, rel_path: str, name: str, error: BaseException, batch: CommitBatch, report: SyncReport
    ) -> None:
        message = str(error)
        report.failures[rel_path] = message
        attempts = batch.record_failure(rel_path, name, message)
        retry, delay = self.retries.schedule(rel_path, attempts)
        batch.retry(rel_path, retry)
        # One line per path and backoff step, naming the path once.
        log.warning(
            "%s: %s %s failed (attempt %d; next try in %s): %s",
            self.pair.name,
            name,
            rel_path,
            attempts,
            shown_delay(delay),
            message.removeprefix(f"{rel_path}: "),
        )
