"""Lists one pair's cloud folder every `interval_s` (sooner when the runner asks, after its
own changes), backing off on errors, and hands each listing to the runner. Never touches
the engine's views or the store: the runner takes the listing on its own thread."""

from __future__ import annotations

import logging
import random
import threading

from syncd.errors import NeedsUserError, SyncdError
from syncd.sync.runner import PairRunner

log = logging.getLogger(__name__)

# A failed listing is tried again after the interval doubled per failure, up to this.
_MAX_DELAY = 600.0


class Poller:
    def __init__(
        self,
        runner: PairRunner,
        interval_s: float,
        stop: threading.Event,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.runner = runner
        self.interval_s = interval_s
        self.stop = stop
        self.rng = rng or random.Random()
        self.thread = threading.Thread(
            target=self._main, name=f"syncd-poll-{runner.name}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _main(self) -> None:
        failures = 0
        runner = self.runner
        engine = runner.engine
        runner.started.wait()
        while not self.stop.is_set():
            if runner.needs_user is not None:
                return
            generation = engine.views.generation
            try:
                scan = engine.fetch_remote()
            except NeedsUserError as exc:
                runner.post_poll_error(exc)
                return
            except Exception as exc:  # a failed poll must never end polling
                if self.stop.is_set():
                    return
                failures += 1
                if not isinstance(exc, SyncdError):
                    log.exception("%s: listing the cloud failed", runner.name)
                runner.post_poll_error(exc)
                delay = min(_MAX_DELAY, self.interval_s * 2**failures) * self.rng.uniform(0.8, 1.2)
            else:
                failures = 0
                runner.post_remote(scan, generation)
                delay = self.interval_s
            # Wake early when the runner wants a fresh listing (after its own changes), or
            # when stopping (the daemon's shutdown sets it too).
            if runner.want_poll.wait(delay):
                runner.want_poll.clear()
