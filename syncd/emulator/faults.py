"""Fault injection switches, changeable while the emulator runs.

Every random draw comes from one RNG seeded by ``seed``, so a failing test run replays the same
faults for the same sequence of calls (given one client thread).
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from syncd.emulator import errors
from syncd.emulator.errors import ApiError

# Endpoint kinds that change state: where a lost response leaves the outcome unknown.
MUTATING_KINDS = frozenset(
    {"upload", "folder_create", "folder_update", "folder_delete", "file_update", "file_delete"}
)

_5XX = (
    (500, 1, "Internal error", "An unexpected error occurred"),
    (503, 5, "Service temporarily unavailable", "The service is temporarily unavailable"),
    (503, 6, "Service temporarily unavailable", "The service is over capacity"),
)


@dataclass
class Faults:
    """Rates are probabilities per call in [0, 1]; 0 (the default) switches a fault off.

    Faults hit API and content calls only (never OAuth or the admin API); the random ones only
    hit the endpoint kinds listed in ``only`` when it is set (e.g. ``{"upload"}``; kinds as in
    `stats.ENDPOINT_KINDS`). Assign fields directly, or use `update` to validate them.
    """

    error_5xx_rate: float = 0.0  # 500 code 1 / 503 code 5 / 503 code 6, gateway body
    reset_rate: float = 0.0  # upload: read part of the body, then TCP reset; nothing stored
    lost_response_rate: float = 0.0  # any mutating call: applied, then reset before replying
    download_reset_rate: float = 0.0  # download: send part of the bytes, then TCP reset
    rate_limit_rate: float = 0.0  # chance per call to start a burst of 403 code 53 …
    rate_limit_burst: int = 1  # … this many calls long, the triggering call included
    retry_after: int | None = None  # Retry-After header (seconds) on 403 code 53
    expire_token_every: int = 0  # the N-th authenticated call expires its token (401)
    latency_s: float = 0.0  # sleep before handling each API, content or token call
    cgu_not_accepted: bool = False  # every API/content call: 403 CGU_NOT_ACCEPTED
    only: frozenset[str] | None = None  # restrict random faults to these endpoint kinds
    seed: int = 0

    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)
    _burst_left: int = field(default=0, init=False, repr=False, compare=False)
    _auth_calls: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)

    # -- configuration --------------------------------------------------------------------

    def update(self, **changes: Any) -> None:
        """Set several switches at once, validated; a new ``seed`` restarts the RNG."""
        known = {f.name for f in dataclasses.fields(self) if not f.name.startswith("_")}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        clean = {name: _coerce(name, value) for name, value in changes.items()}
        with self._lock:
            for name, value in clean.items():
                setattr(self, name, value)
            if "seed" in clean:
                self._rng = random.Random(self.seed)
                self._burst_left = self._auth_calls = 0

    def clear(self) -> None:
        """Back to no faults at all (the seed is kept)."""
        defaults = Faults()
        self.update(
            **{k: getattr(defaults, k) for k in self.to_dict() if k != "seed"}, seed=self.seed
        )

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out = {k: v for k, v in out.items() if not k.startswith("_")}
        out["only"] = sorted(self.only) if self.only is not None else None
        return out

    # -- decisions (called by the request handler) ---------------------------------------

    def roll(self, rate: float, kind: str) -> bool:
        if rate <= 0 or (self.only is not None and kind not in self.only):
            return False
        with self._lock:
            return self._rng.random() < rate

    def gateway_fault(self, kind: str) -> tuple[str, ApiError] | None:
        """(fault name, error) the gateway answers with before the call reaches the API."""
        if self.cgu_not_accepted:
            err = errors.nested(
                403, "PDK_RP_0011", "CGU_NOT_ACCEPTED", "The user has not accepted the terms"
            )
            return "cgu_not_accepted", err
        if self._rate_limited(kind):
            err = errors.gateway(403, 53, "Too many requests", "The request quota is exceeded")
            if self.retry_after is not None:
                err.headers["Retry-After"] = str(self.retry_after)
            return "rate_limit", err
        if self.roll(self.error_5xx_rate, kind):
            with self._lock:
                status, code, message, description = self._rng.choice(_5XX)
            return "error_5xx", errors.gateway(status, code, message, description)
        return None

    def expire_now(self) -> bool:
        """Count one authenticated call; True when this one must expire its token."""
        if self.expire_token_every <= 0:
            return False
        with self._lock:
            self._auth_calls += 1
            if self._auth_calls >= self.expire_token_every:
                self._auth_calls = 0
                return True
            return False

    def _rate_limited(self, kind: str) -> bool:
        with self._lock:
            if self._burst_left > 0:
                self._burst_left -= 1
                return True
        if self.roll(self.rate_limit_rate, kind):
            with self._lock:
                self._burst_left = max(self.rate_limit_burst, 1) - 1
            return True
        return False


def _coerce(name: str, value: Any) -> Any:
    if name == "only":
        if value is None:
            return None
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError("only must be a list of endpoint kinds")
        return frozenset(value)
    if name == "cgu_not_accepted":
        if not isinstance(value, bool):
            raise ValueError("cgu_not_accepted must be a boolean")
        return value
    if name == "retry_after" and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    if name.endswith("_rate"):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be between 0 and 1")
        return float(value)
    if name == "latency_s":
        if value < 0:
            raise ValueError("latency_s must not be negative")
        return float(value)
    if value < 0 or value != int(value):
        raise ValueError(f"{name} must be a non-negative integer")
    return int(value)
