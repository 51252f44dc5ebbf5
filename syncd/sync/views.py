"""The three views of one folder pair, held between passes, and how each event updates them.

- local: what the disk holds (`localfs.scan`, whole or by subtrees), with what could not be
  read and the partial downloads seen on the way;
- base: what both sides held at the last sync of each path (loaded from the store, kept in
  step with what is committed);
- remote: the latest cloud listing, with what it hides (names that cannot be local, items it
  cannot read or place) and its download URLs.

The engine thread alone changes them. A listing started before the engine changed the cloud
is refused (`generation`): it would undo the engine's own work in the view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from syncd.sync.excludes import Excludes
from syncd.sync.executor import Outcome
from syncd.sync.localfs import LocalScan
from syncd.sync.model import BaseEntry, LocalEntry, RemoteEntry
from syncd.sync.paths import is_within, outermost
from syncd.sync.remote import RemoteScan


@dataclass
class Views:
    base: dict[str, BaseEntry] = field(default_factory=dict)
    local: dict[str, LocalEntry] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)
    partials: set[str] = field(default_factory=set)
    remote: dict[str, RemoteEntry] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    # Names of cloud items the listing could not place: any path so named may be one.
    unplaced: set[str] = field(default_factory=set)
    # What the listing could not read whole (see `RemoteScan.damage`).
    listing_damage: list[str] = field(default_factory=list)
    temporaries: dict[str, RemoteEntry] = field(default_factory=dict)
    # Counts the engine's own changes to the cloud: a listing started before one is stale.
    generation: int = 0
    stale: bool = True  # the remote view needs a new listing
    changed: bool = True  # the last listing taken differed from the one before
    said: set[str] = field(default_factory=set)  # the listing's notes already logged

    def load_base(self, base: dict[str, BaseEntry]) -> None:
        """The base as the store holds it (at the start of a run)."""
        self.base = base

    def hide(self, paths: Iterable[str]) -> None:
        """Treat `paths` (and what is below them) as unknown until the next listing."""
        self.hidden = self.hidden | set(paths)

    # --- the local side ------------------------------------------------------------------

    def take_scan(self, found: LocalScan, roots: Iterable[str] | None) -> None:
        """A scan of the whole root (`roots` None or holding ""), or of some subtrees."""
        tops = None if roots is None else outermost(roots)
        if tops is None or tops == [""]:
            self.local = found.entries
            self.unreadable = found.unreadable
            self.partials = found.partials
            return
        for top in tops:
            for path in [p for p in self.local if is_within(p, top)]:
                del self.local[path]
            self.unreadable = {p for p in self.unreadable if not is_within(p, top)}
            self.partials = {p for p in self.partials if not is_within(p, top)}
        self.local.update(found.entries)
        self.unreadable |= found.unreadable
        self.partials |= found.partials

    # --- the remote side -----------------------------------------------------------------

    def take_listing(self, scan: RemoteScan, generation: int, say: Callable[[str], None]) -> bool:
        """Take a listing unless the engine changed the cloud after it was started; `say`
        gets each of its notes once (a daemon lists every minute)."""
        if generation != self.generation:
            self.stale = True
            return False
        # Most listings of a daemon change nothing, and a pass over a big unchanged tree is
        # then pure waste.
        self.changed = (
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
        for note in scan.notes:
            if note not in self.said:
                say(note)
        self.said = set(scan.notes)
        self.stale = False
        return True

    # --- after an action -----------------------------------------------------------------

    def absorb(self, outcome: Outcome) -> None:
        """What one action changed, on each side and in the base."""
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
            self.generation += 1
            # Uploads return only an id: their dates come from the next listing.
            self.stale = self.stale or not outcome.remote_fresh
            for path, remote_entry in outcome.remote.items():
                if remote_entry is None:
                    self.remote.pop(path, None)
                    self.urls.pop(path, None)
                else:
                    self.remote[path] = remote_entry

    def forget_excluded(self, excludes: Excludes) -> dict[str, None]:
        """Drop what selective sync now leaves out; returns the base rows to delete."""
        gone = {path: None for path in self.base if excludes.in_folders(path)}
        for path in gone:
            del self.base[path]
        self.local = {p: e for p, e in self.local.items() if not excludes.in_folders(p)}
        self.remote = {p: e for p, e in self.remote.items() if not excludes.in_folders(p)}
        self.stale = True
        return gone

    # --- what the planner must leave alone -----------------------------------------------

    def skip_set(self, backing_off: set[str]) -> frozenset[str]:
        return frozenset(self.unreadable | self.hidden | backing_off | self.unplaced_paths())

    def unplaced_paths(self) -> set[str]:
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
