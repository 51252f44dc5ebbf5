"""The dashboard's access token: random, in a 0600 file of the state dir, rotated on demand.

The server reads the file again whenever it changes, so `syncd web --new-token` locks out
every open page and old address at once, with no restart.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

TOKEN_FILE = "web-token"


def token_path(state_dir: Path) -> Path:
    return state_dir / TOKEN_FILE


def _write(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # Created 0600, never readable by others even for a moment.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(token + "\n")
    os.replace(temp, path)


def _read(path: Path) -> str | None:
    try:
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return token or None


def load_or_create(state_dir: Path) -> str:
    path = token_path(state_dir)
    token = _read(path)
    if token is None:
        token = rotate(state_dir)
    return token


def rotate(state_dir: Path) -> str:
    token = secrets.token_urlsafe(32)
    _write(token_path(state_dir), token)
    return token


def csrf_for(token: str) -> str:
    """The page's CSRF token: bound to the access token, so it rotates with it."""
    return hmac.new(token.encode(), b"syncd dashboard csrf", hashlib.sha256).hexdigest()


class TokenSource:
    """The current token, read again only when the file changed (one stat per request)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = token_path(state_dir)
        self._seen: tuple[int, int, int] | None = None
        self._token: str | None = None

    def current(self) -> str | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        signature = (info.st_ino, info.st_mtime_ns, info.st_size)
        if signature != self._seen:
            self._token = _read(self.path)
            self._seen = signature
        return self._token
