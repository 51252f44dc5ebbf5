"""The configs syncd writes for a first run (`syncd init`, `syncd emulator --write-config`),
and the commented example it ships (`syncd init --example`).

`render` is pure; `checked` validates a text exactly as `load_config` would read it from
where it is going (the roots check included), before anything is written; `write` puts it
there, private (0600: it holds the client secret), never over a file it may not replace.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from syncd.config import DEFAULT_REDIRECT_URI, Config, Defaults, check_pair_roots, parse_config

# The first line of a config `syncd emulator --write-config` wrote: it may write it again
# (the emulator's port and token change from run to run), and nothing else.
EMULATOR_HEADER = "# syncd configuration for the local emulator"


def example_config() -> str:
    """`config.example.yaml`: packaged in a wheel (`syncd/resources`), at the top of a
    source checkout."""
    packaged = resources.files("syncd") / "resources" / "config.example.yaml"
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / "config.example.yaml").read_text("utf-8")


@dataclass(frozen=True, slots=True)
class Emulated:
    """Where a running emulator is, and where its config keeps its own state and token."""

    origin: str
    api_url: str
    content_url: str
    authorize_url: str
    token_url: str
    state_dir: Path


@dataclass(frozen=True, slots=True)
class NewConfig:
    local: str  # as the config says it: absolute, or ~/...
    remote: str = "/"
    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = DEFAULT_REDIRECT_URI
    emulator: Emulated | None = None


def local_folder(typed: str) -> str:
    """A local folder as a config should say it: a relative one as the absolute folder it
    names here (the config needs one); `~/...` as it is, for the config to expand."""
    if typed == "~" or typed.startswith("~/") or Path(typed).is_absolute():
        return typed
    return str(Path(typed).absolute())


def save_token(token_file: Path, response: Mapping[str, Any]) -> None:
    """Log in with a token response (as a token endpoint gives it): saved where the client
    looks, as `syncd auth login` saves it."""
    from syncd.cloud.tokens import TokenFileStore, TokenSet

    TokenFileStore(token_file).save(TokenSet.from_response(dict(response), now=time.time()))


def _q(value: str | Path) -> str:
    # A JSON string is a YAML double-quoted scalar: any value, nothing read as YAML syntax.
    return json.dumps(str(value), ensure_ascii=False)


def render(new: NewConfig, today: date) -> str:
    """The config text: one pair, a comment for each key, every other key left to its
    default (`syncd init --example` lists them all)."""
    emu = new.emulator
    if emu is None:
        head = (
            f"# syncd configuration, written by `syncd init` on {today.isoformat()}.\n"
            "# Every other key, with its default and what it does: `syncd init --example`.\n"
        )
        where = '  # Your application on developer.orange.com (its "Cloud France" API).\n'
    else:
        head = (
            f"{EMULATOR_HEADER} at {emu.origin},\n"
            f"# written by `syncd emulator --write-config` on {today.isoformat()}; written\n"
            "# again by the next such run (its port and token change). Already logged in.\n"
            "# Every other key, with its default and what it does: `syncd init --example`.\n"
        )
        where = (
            "  # The emulator's API, content host and OAuth endpoints, and its application.\n"
            f"  api_url: {_q(emu.api_url)}\n"
            f"  content_url: {_q(emu.content_url)}\n"
            f"  authorize_url: {_q(emu.authorize_url)}\n"
            f"  token_url: {_q(emu.token_url)}\n"
        )
    text = (
        f"{head}\n"
        "cloud:\n"
        f"{where}"
        f"  client_id: {_q(new.client_id)}\n"
        f"  client_secret: {_q(new.client_secret)}\n"
        "  # The redirect URI registered for the application: `syncd auth login` listens on\n"
        "  # 127.0.0.1 at its port and path.\n"
        f"  redirect_uri: {_q(new.redirect_uri)}\n"
    )
    if emu is not None:
        text += (
            "\n# Its own state and token, apart from any real account's.\n"
            f"state_dir: {_q(emu.state_dir)}\n"
        )
    return text + (
        "\n# The folder pairs to keep identical; add more the same way.\n"
        "pairs:\n"
        "  - # A local folder (created on the first sync if its parent exists).\n"
        f"    local: {_q(new.local)}\n"
        "    # The cloud folder, from the root the application sees (created on the first\n"
        "    # sync).\n"
        f"    remote: {_q(new.remote)}\n"
    )


def checked(text: str, path: Path, defaults: Defaults | None = None) -> Config:
    """The config `text` makes once at `path`, as `load_config` would read it there; a
    `ConfigError` naming `path` for anything it would refuse."""
    config = parse_config(text, source=path, defaults=defaults or Defaults.from_environment())
    check_pair_roots(config)
    return config


def write(path: Path, text: str, *, replace: bool) -> None:
    """Write the config at `path`, 0600, all or nothing. An existing file is kept unless
    `replace` (`FileExistsError`)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: 0600 already
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp, path)
        else:
            os.link(temp, path)  # fails if anything is there, even a dangling link
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def written_by_the_emulator(path: Path) -> bool:
    """Whether `path` holds a config that `syncd emulator --write-config` wrote."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline().startswith(EMULATOR_HEADER)
    except OSError:
        return False
