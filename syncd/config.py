"""YAML configuration: parsed and validated into a frozen `Config`, errors at `file:line:col`.

The parse is pure (`parse_config(text, ...)`); only `load_config` touches the disk. pydantic
validates with unknown keys forbidden and no YAML 1.1 coercions (`no` is not a string, `0755`
is not a path), and every error is mapped back to the line of the offending node.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from syncd.cloud.settings import (
    DEFAULT_SCOPE,
    LIVE_API_URL,
    LIVE_AUTHORIZE_URL,
    LIVE_CONTENT_URL,
    LIVE_TOKEN_URL,
    CloudSettings,
)
from syncd.errors import ConfigError
from syncd.roots import OwnFiles, first_overlap, root_problem
from syncd.sync.model import ConflictPolicy
from syncd.sync.options import PairOptions, SyncOptions

_SYNC = SyncOptions()  # the defaults, written once there
# Desktop notifications: "auto" where a session bus is named and answers (see syncd.desktop).
NotificationMode = Literal["auto", "on", "off"]
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8976/callback"

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
    "p": 1000**5,
    "pb": 1000**5,
    "pib": 1024**5,
}
_MINUTE, _HOUR, _DAY = 60, 3600, 86400
_DURATION_UNITS = {
    "": Decimal(1),
    "s": Decimal(1),
    "ms": Decimal("0.001"),
    "m": Decimal(_MINUTE),
    "min": Decimal(_MINUTE),
    "h": Decimal(_HOUR),
    "d": Decimal(_DAY),
}
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$")
# Far more than any disk, link or cloud holds, and far less than what overflows a C long
# (the kernel's and SQLite's integers) or loses precision in a float.
MAX_SIZE = 1024**5
# A config is a few dozen lines; anything bigger is a mistake (or an attack) to refuse
# before YAML reads it.
MAX_CONFIG_BYTES = 1024**2
# The values a document may hold once its aliases are expanded: thousands of exclude
# patterns fit, and a "billion laughs" (aliases of aliases) stops here, not in memory.
MAX_YAML_VALUES = 100_000


def parse_size(value: object) -> object:
    """`1048576`, `"1 MiB"`, `"500MB"` -> bytes, at most `MAX_SIZE`. Anything else (a bool,
    a float, a list) is left for pydantic to reject."""
    if isinstance(value, str):
        match = _QUANTITY.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _SIZE_UNITS:
            raise ValueError(f"not a size: {value!r} (use bytes or a unit like '2 MiB')")
        # Exact: a float would turn a long run of digits into inf, and int(inf) raises.
        value = int(Decimal(match.group(1)) * _SIZE_UNITS[unit])
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_SIZE:
        raise ValueError(f"must be from 0 B to 1 PiB ({MAX_SIZE} bytes)")
    return value


def _exact_seconds(value: object) -> Decimal | None:
    """`30`, `"30s"`, `"5m"`, `"1h"` -> seconds; None for what is not a duration at all."""
    if isinstance(value, str):
        match = _QUANTITY.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _DURATION_UNITS:
            raise ValueError(f"not a duration: {value!r} (use seconds or a unit like '5m')")
        return Decimal(match.group(1)) * _DURATION_UNITS[unit]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(value)
    return None


def _show_seconds(seconds: int) -> str:
    for unit, name in ((_DAY, "day"), (_HOUR, "h"), (_MINUTE, "min")):
        if seconds and seconds % unit == 0:
            count = seconds // unit
            return f"{count} {name}" + ("s" if name == "day" and count > 1 else "")
    return f"{seconds} s"


def seconds_within(low: int, high: int) -> Callable[[object], object]:
    """A validator: a duration of `low` to `high` seconds, as a float."""

    def parse(value: object) -> object:
        seconds = _exact_seconds(value)
        if seconds is None:
            return value  # pydantic says which type it wants
        if not seconds.is_finite():
            raise ValueError(f"must be a finite number of seconds ({value!r})")
        if not low <= seconds <= high:
            raise ValueError(f"must be from {_show_seconds(low)} to {_show_seconds(high)}")
        return float(seconds)

    return parse


def exclude_pattern(pattern: str) -> str:
    """A validator: a gitignore-style pattern that pathspec compiles and that can match."""
    if not pattern.strip():
        raise ValueError("empty pattern")
    import pathspec  # only for configs that have patterns: `syncd status` need not pay

    try:
        spec = pathspec.GitIgnoreSpec.from_lines([pattern])
    except ValueError:
        raise ValueError(f"not a valid gitignore-style pattern: {pattern!r}") from None
    if not any(compiled.include is not None for compiled in spec.patterns):
        raise ValueError(
            f"the pattern {pattern!r} matches nothing (a '#' comment, or an unclosed '['?)"
        )
    return pattern


def notification_mode(value: object) -> object:
    """A validator: `auto`, `on` or `off`; YAML 1.1's bare `on`/`off` arrive as booleans, and
    for a switch a boolean means just that."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value not in ("auto", "on", "off"):
        raise ValueError(f"must be auto, on or off (got {value!r})")
    return value


Size = Annotated[int, BeforeValidator(parse_size)]
# A second is the least a request takes over a real network; after an hour a silent request
# must count as lost.
Timeout = Annotated[float, BeforeValidator(seconds_within(1, _HOUR))]
# Under a second the poller lists the cloud without pause (a listing is a request); over a
# day, changes made elsewhere wait longer than anyone would guess.
PollInterval = Annotated[float, BeforeValidator(seconds_within(1, _DAY))]
# Longer than a minute, a save would look lost.
Debounce = Annotated[float, BeforeValidator(seconds_within(0, _MINUTE))]
# The rescan walks the whole tree: more often than a minute it never rests; rarer than a
# month, what the watcher missed is as good as lost.
RescanInterval = Annotated[float, BeforeValidator(seconds_within(_MINUTE, 30 * _DAY))]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
ExcludePattern = Annotated[str, AfterValidator(exclude_pattern)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CloudSection(_Section):
    api_url: str = LIVE_API_URL
    content_url: str = LIVE_CONTENT_URL
    authorize_url: str = LIVE_AUTHORIZE_URL
    token_url: str = LIVE_TOKEN_URL
    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = DEFAULT_REDIRECT_URI
    scope: str = DEFAULT_SCOPE
    token_file: str | None = None
    verify_tls: bool = True
    connect_timeout: Timeout = 10.0
    read_timeout: Timeout = 120.0
    max_attempts: int = Field(default=6, ge=1, le=50)


class SyncSection(_Section):
    poll_interval: PollInterval = _SYNC.poll_interval_s
    debounce: Debounce = _SYNC.debounce_s
    full_rescan_interval: RescanInterval = _SYNC.full_rescan_interval_s
    transfers: int = Field(default=_SYNC.transfers, ge=1, le=64)
    max_delete_percent: Percent = _SYNC.max_delete_percent
    upload_limit: Size = _SYNC.upload_limit
    download_limit: Size = _SYNC.download_limit
    min_free_space: Size = _SYNC.min_free_space
    min_free_percent: Percent = _SYNC.min_free_percent
    trash_retention_days: int = Field(default=_SYNC.trash_retention_days, ge=0, le=36500)


class PairSection(_Section):
    local: str
    remote: str = "/"
    name: str | None = None
    excludes: list[ExcludePattern] = Field(default_factory=list)
    conflict_policy: ConflictPolicy = "keep-both"


class LoggingSection(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    file: str | None = None
    max_bytes: Size = 10 * 1024**2
    backups: int = Field(default=3, ge=0, le=1000)


class WebSection(_Section):
    enabled: bool = False
    listen: str = "127.0.0.1:8977"


class ConfigModel(_Section):
    cloud: CloudSection = Field(default_factory=CloudSection)
    state_dir: str | None = None
    sync: SyncSection = Field(default_factory=SyncSection)
    pairs: list[PairSection] = Field(default_factory=list)
    logging: LoggingSection = Field(default_factory=LoggingSection)
    web: WebSection = Field(default_factory=WebSection)
    notifications: Annotated[NotificationMode, BeforeValidator(notification_mode)] = "auto"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a key is in the config file, for errors found after the parse."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class PairConfig(PairOptions):
    """A pair as configured: what the engine needs, and where the config says it."""

    local_at: Position | None = None  # of its `local` key


@dataclass(frozen=True, slots=True)
class LogOptions:
    level: str = "info"
    file: Path | None = None
    max_bytes: int = 10 * 1024**2
    backups: int = 3


@dataclass(frozen=True, slots=True)
class WebOptions:
    """The dashboard `syncd run` serves: off unless asked, on loopback unless told otherwise."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8977


@dataclass(frozen=True, slots=True)
class Config:
    cloud: CloudSettings
    state_dir: Path
    pairs: tuple[PairConfig, ...] = ()
    sync: SyncOptions = field(default_factory=SyncOptions)
    logging: LogOptions = field(default_factory=LogOptions)
    source: Path | None = None
    web: WebOptions = field(default_factory=WebOptions)
    notifications: NotificationMode = "auto"

    def pair(self, name: str | None) -> PairConfig:
        """The pair called `name`, or the only pair when `name` is None."""
        if name is None:
            if len(self.pairs) == 1:
                return self.pairs[0]
            if not self.pairs:
                problem = "no folder pairs configured: `syncd init` writes a config with one"
                raise ConfigError(problem, file=self.source)
            names = ", ".join(p.name for p in self.pairs)
            raise ConfigError(f"choose a folder pair with --pair ({names})", file=self.source)
        for pair in self.pairs:
            if pair.name == name:
                return pair
        raise ConfigError(f"no folder pair named {name!r}", file=self.source)


@dataclass(frozen=True, slots=True)
class Defaults:
    """Where things go when the config does not say; injected so parsing stays pure."""

    home: Path
    state_dir: Path

    @classmethod
    def from_environment(cls) -> Defaults:
        return cls(home=Path.home(), state_dir=platformdirs.user_state_path("syncd"))


def default_config_path() -> Path:
    return platformdirs.user_config_path("syncd") / "config.yaml"


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of duplicate keys silently; a config must not."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first defined on line {first})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


def _node_marks(
    node: yaml.Node, prefix: tuple[str | int, ...] = ()
) -> dict[tuple[str | int, ...], yaml.Mark]:
    """Map each key path to where it appears: the key itself for mappings, the item for lists."""
    marks: dict[tuple[str | int, ...], yaml.Mark] = {prefix: node.start_mark}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, str(key_node.value))
            marks.update(_node_marks(value_node, path))
            marks[path] = key_node.start_mark
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            marks.update(_node_marks(item, (*prefix, index)))
    return marks


def _expand_path(raw: str, home: Path) -> Path:
    if raw == "~" or raw.startswith("~/"):
        return home / raw[2:]
    return Path(raw)


def _require_absolute(raw: str, home: Path, key: str, where: dict[str, Any]) -> Path:
    path = _expand_path(raw, home)
    if not path.is_absolute():
        raise ConfigError(
            f"must be an absolute path (or start with ~/), got {raw!r}", key=key, **where
        )
    return path


def _normalise_remote(raw: str) -> str:
    parts = [part for part in raw.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise ValueError(f"remote path may not contain '.' or '..': {raw!r}")
    return "/" + "/".join(parts)


def _compose(text: str, source: Path | None) -> tuple[Any, yaml.Node | None]:
    """The document's data and its node tree (for the marks), or a `ConfigError`."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_expansion(node, source)
        return loader.construct_document(node), node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ConfigError(
            f"invalid YAML: {exc.problem}",
            file=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=source) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", file=source) from None
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node, source: Path | None) -> None:
    """Refuse a document whose values, each alias expanded where it stands, number more
    than `MAX_YAML_VALUES`: validating it would take memory and time without bound."""
    stack, visits, distinct = [root], 0, set()
    while stack:
        node = stack.pop()
        visits += 1
        distinct.add(id(node))
        if visits > MAX_YAML_VALUES:
            what = "aliases expand to" if len(distinct) < visits else "the document holds"
            raise ConfigError(
                f"invalid YAML: {what} more than {MAX_YAML_VALUES} values",
                file=source,
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                stack.extend((key_node, value_node))


def parse_config(text: str, *, source: Path | None, defaults: Defaults) -> Config:
    """Validate a YAML document into a `Config`; raises `ConfigError` naming file:line:col."""
    data, root = _compose(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys", file=source, line=1, column=1)
    marks = _node_marks(root) if root is not None else {}
    try:
        model = ConfigModel.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        probe = loc
        while probe and probe not in marks:
            probe = probe[:-1]
        mark = marks.get(probe)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] == "value_error":
            message = str(error["ctx"]["error"])  # ours, without pydantic's "Value error, "
        raise ConfigError(
            message,
            file=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            key=".".join(str(part) for part in loc),
        ) from None
    return _build(model, marks, source, defaults)


def _build(
    model: ConfigModel,
    marks: Mapping[tuple[str | int, ...], yaml.Mark],
    source: Path | None,
    defaults: Defaults,
) -> Config:

    def where(*loc: str | int) -> dict[str, Any]:
        mark = marks.get(loc)
        if mark is None:
            return {"file": source}
        return {"file": source, "line": mark.line + 1, "column": mark.column + 1}

    state_dir = defaults.state_dir
    if model.state_dir is not None:
        state_dir = _require_absolute(
            model.state_dir, defaults.home, "state_dir", where("state_dir")
        )
    cloud = model.cloud
    token_file = state_dir / "token.json"
    if cloud.token_file is not None:
        token_file = _require_absolute(
            cloud.token_file, defaults.home, "cloud.token_file", where("cloud", "token_file")
        )
    settings = CloudSettings(
        client_id=cloud.client_id,
        client_secret=cloud.client_secret,
        redirect_uri=cloud.redirect_uri,
        token_file=token_file,
        api_url=cloud.api_url.rstrip("/"),
        content_url=cloud.content_url.rstrip("/"),
        authorize_url=cloud.authorize_url,
        token_url=cloud.token_url,
        scope=cloud.scope,
        verify_tls=cloud.verify_tls,
        connect_timeout_s=cloud.connect_timeout,
        read_timeout_s=cloud.read_timeout,
        max_attempts=cloud.max_attempts,
    )
    pairs: list[PairConfig] = []
    for index, pair in enumerate(model.pairs):
        key = f"pairs.{index}.local"
        local_root = _require_absolute(
            pair.local, defaults.home, key, where("pairs", index, "local")
        )
        try:
            remote_root = _normalise_remote(pair.remote)
        except ValueError as exc:
            raise ConfigError(
                str(exc), key=f"pairs.{index}.remote", **where("pairs", index, "remote")
            ) from None
        name = pair.name or local_root.name or "root"
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
            raise ConfigError(
                f"pair name {name!r} may only hold letters, digits, '.', '_' and '-'",
                key=f"pairs.{index}.name",
                **where("pairs", index, "name"),
            )
        if any(existing.name == name for existing in pairs):
            raise ConfigError(
                f"two pairs are named {name!r}; give them distinct `name`s",
                key=f"pairs.{index}",
                **where("pairs", index),
            )
        mark = marks.get(("pairs", index, "local"))
        local_at = Position(mark.line + 1, mark.column + 1) if mark is not None else None
        pairs.append(
            PairConfig(
                name=name,
                local_root=local_root,
                remote_root=remote_root,
                excludes=tuple(pair.excludes),
                conflict_policy=pair.conflict_policy,
                local_at=local_at,
            )
        )
    sync = model.sync
    log = model.logging
    log_file = None
    if log.file is not None:
        log_file = _require_absolute(
            log.file, defaults.home, "logging.file", where("logging", "file")
        )
    config = Config(
        cloud=settings,
        state_dir=state_dir,
        pairs=tuple(pairs),
        sync=SyncOptions(
            poll_interval_s=sync.poll_interval,
            debounce_s=sync.debounce,
            full_rescan_interval_s=sync.full_rescan_interval,
            transfers=sync.transfers,
            max_delete_percent=sync.max_delete_percent,
            upload_limit=sync.upload_limit,
            download_limit=sync.download_limit,
            min_free_space=sync.min_free_space,
            min_free_percent=sync.min_free_percent,
            trash_retention_days=sync.trash_retention_days,
        ),
        logging=LogOptions(
            level=log.level, file=log_file, max_bytes=log.max_bytes, backups=log.backups
        ),
        source=source,
        web=_web_options(model.web, where),
        notifications=model.notifications,
    )
    roots = [pair.local_root for pair in config.pairs]
    _check_roots(config, roots, _own_files(config), [defaults.home])
    return config


_LISTEN = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\[\]]+)):(?P<port>[0-9]{1,5})$")


def parse_listen(text: str) -> tuple[str, int]:
    """`"127.0.0.1:8977"`, `"[::1]:8977"`, `"localhost:8977"` -> (host, port).

    Only IP addresses and `localhost`: a host name would be resolved at every start and
    could point anywhere; the address the user writes is the one served on."""
    match = _LISTEN.match(text.strip())
    if match is None:
        raise ValueError(f"not a listen address: {text!r} (write it as 127.0.0.1:8977)")
    host = match.group("v6") or match.group("host")
    port = int(match.group("port"))
    if port > 65535:
        raise ValueError(f"port must be 0 to 65535, got {port}")
    if host != "localhost":
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"host must be an IP address or localhost, got {host!r}") from None
        if (address.version == 6) != bool(match.group("v6")):
            raise ValueError(f"not a listen address: {text!r} (an IPv6 one is [::1]:8977)")
    return host, port


def _web_options(model: WebSection, where: Any) -> WebOptions:
    try:
        host, port = parse_listen(model.listen)
    except ValueError as exc:
        raise ConfigError(str(exc), key="web.listen", **where("web", "listen")) from None
    return WebOptions(enabled=model.enabled, host=host, port=port)


def _own_files(config: Config) -> OwnFiles:
    files = [("token file", config.cloud.token_file)]
    if config.logging.file is not None:
        files.append(("log file", config.logging.file))
    if config.source is not None:
        files.append(("config file", config.source))
    return OwnFiles(config.state_dir, tuple(files))


def _check_roots(
    config: Config, local_roots: Sequence[Path], own: OwnFiles, homes: Sequence[Path]
) -> None:
    """The rules of `syncd.roots` on each pair's root as given (as written, or resolved)."""
    for index, (pair, root) in enumerate(zip(config.pairs, local_roots, strict=True)):
        problem = root_problem(root, own, homes)
        if problem is not None:
            shown = pair.local_root if root == pair.local_root else f"{pair.local_root} ({root})"
            raise _at_local(config, index, f"{shown} {problem}")
    overlap = first_overlap(local_roots)
    if overlap is not None:
        index, earlier = overlap
        pair, other = config.pairs[index], config.pairs[earlier]
        message = (
            f"local folder {pair.local_root} overlaps pair {other.name!r} ({other.local_root})"
        )
        if (local_roots[index], local_roots[earlier]) != (pair.local_root, other.local_root):
            message += f": resolved, they are {local_roots[index]} and {local_roots[earlier]}"
        raise _at_local(config, index, message)


def _at_local(config: Config, index: int, problem: str) -> ConfigError:
    place = config.pairs[index].local_at
    return ConfigError(
        problem,
        file=config.source,
        line=place.line if place else None,
        column=place.column if place else None,
        key=f"pairs.{index}.local",
    )


def _resolved(path: Path) -> Path:
    """`path` with `..` and symlinks resolved; a tail that does not exist yet is kept as
    written below its nearest existing ancestor."""
    return path.resolve(strict=False)


def check_pair_roots(config: Config, *, home: Path | None = None) -> None:
    """Apply the root rules to the paths as they resolve on disk now, where two names for
    one folder are one folder; `ConfigError` at the offending pair's `local` key.

    `load_config` calls it, and so does every start of a sync or of the daemon's pairs
    (`syncd.compose`): a link made since the config was read counts too.
    """
    homes: list[Path] = []
    with contextlib.suppress(RuntimeError, KeyError):  # no home known: no home to guard
        homes.append(home or Path.home())
    own = _own_files(config)
    with contextlib.suppress(OSError, RuntimeError):  # unresolvable: compared as written
        homes += [_resolved(folder) for folder in homes]
        own = OwnFiles(
            _resolved(own.state_dir), tuple((what, _resolved(path)) for what, path in own.files)
        )
    local_roots: list[Path] = []
    for index, pair in enumerate(config.pairs):
        try:
            local_roots.append(_resolved(pair.local_root))
        except (OSError, RuntimeError) as exc:  # a symlink loop on the way
            raise _at_local(config, index, f"{pair.local_root} cannot be resolved: {exc}") from None
    _check_roots(config, local_roots, own, homes)


def load_config(path: Path | None, *, defaults: Defaults | None = None) -> Config:
    """Read and parse the config; a missing file at the default location means all defaults."""
    defaults = defaults or Defaults.from_environment()
    explicit = path is not None
    path = path or default_config_path()
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError("the config file is larger than 1 MiB", file=path)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError("config file not found: `syncd init` writes one", file=path) from None
        return parse_config("", source=None, defaults=defaults)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", file=path) from None
    config = parse_config(text, source=path, defaults=defaults)
    check_pair_roots(config, home=defaults.home)
    return config
