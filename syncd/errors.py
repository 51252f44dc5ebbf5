"""The error tree of syncd, grouped by what the caller does about an error.

    SyncdError
    ├── ConfigError        fix the configuration; commands exit 2
    ├── NeedsUserError     stop and ask the user (exit 78, systemd does not restart)
    │   ├── AuthRequired   no usable token: run `syncd auth login`
    │   ├── RootGuardError the local root is missing, replaced or emptied
    │   └── StateError     the state DB is unreadable, corrupt or from a newer schema
    │       └── StateNotReady  (to a reader) nothing synced yet, or not migrated yet
    ├── TransientError     retry later with backoff (network, 5xx, rate limit)
    └── PathError          skip this one path, record it, keep syncing the rest

Cloud-specific errors (`syncd.cloud.errors`) subclass these, so the engine reacts to a
cloud failure without knowing the API's error shapes.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
# sysexits EX_CONFIG: "needs the user". The unit file lists it in RestartPreventExitStatus.
EXIT_NEEDS_USER = 78


class SyncdError(Exception):
    """Base of every error syncd raises on purpose."""

    exit_code: int = EXIT_FAILURE


class ConfigError(SyncdError):
    """The configuration is invalid. Its message starts with `file:line:col: key:`."""

    exit_code = EXIT_USAGE

    def __init__(
        self,
        problem: str,
        *,
        file: Path | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file is not None:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.problem}"


class NeedsUserError(SyncdError):
    """Nothing will get better by retrying; a person has to act."""

    exit_code = EXIT_NEEDS_USER


class AuthRequired(NeedsUserError):
    """No valid credentials (never logged in, refresh token expired or revoked)."""

    def __init__(self, message: str = "not logged in: run `syncd auth login`") -> None:
        super().__init__(message)


class RootGuardError(NeedsUserError):
    """The local sync root is missing, is not the folder we synced, or was emptied."""


class StateError(NeedsUserError):
    """The state database cannot be used as it is."""


class StateNotReady(StateError):
    """No state to read yet: nothing synced, or a state DB being created or waiting for its
    migration by the next sync. Only a reader meets it; nobody has to act."""


class TransientError(SyncdError):
    """A failure that may go away by itself; retry later with backoff."""


class PathError(SyncdError):
    """A failure confined to one path; record it and carry on with the others."""

    def __init__(self, rel_path: str, message: str) -> None:
        self.rel_path = rel_path
        super().__init__(f"{rel_path}: {message}")


class DiskFull(TransientError):
    """No room left on the disk under syncd's own files; nothing is lost, retry later."""
