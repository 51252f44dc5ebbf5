"""Config parsing: values, defaults, and errors that name file:line:col and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.config import Defaults, load_config, parse_config
from syncd.errors import ConfigError

HOME = Path("/home/u")
DEFAULTS = Defaults(home=HOME, state_dir=HOME / ".local/state/syncd")
SOURCE = Path("/etc/syncd.yaml")


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_config(text, source=SOURCE, defaults=DEFAULTS)


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return str(caught.value)


def test_empty_config_is_all_defaults() -> None:
    config = parse("")
    assert config.pairs == ()
    assert config.state_dir == HOME / ".local/state/syncd"
    assert config.cloud.token_file == HOME / ".local/state/syncd/token.json"
    assert config.cloud.api_url == "https://api.orange.com/cloud/v1"
    assert config.cloud.verify_tls is True
    assert config.sync.max_delete_percent == 50


def test_a_full_config() -> None:
    config = parse(
        """
cloud:
  client_id: abc
  client_secret: s3cret
  redirect_uri: http://myowncloud.io:8080/callback
sync:
  poll_interval: 5m
  transfers: 6
  upload_limit: 2 MiB
  min_free_space: 500MB
pairs:
  - local: ~/Orange
    remote: /Documents/sync
    excludes: ["*.tmp", "build/"]
    conflict_policy: newer-wins
  - name: photos
    local: /data/photos
"""
    )
    assert config.sync.poll_interval_s == 300
    assert config.sync.upload_limit == 2 * 1024 * 1024
    assert config.sync.min_free_space == 500_000_000
    first, second = config.pairs
    assert first.name == "Orange" and first.local_root == HOME / "Orange"
    assert first.remote_root == "/Documents/sync"
    assert first.excludes == ("*.tmp", "build/")
    assert second.name == "photos" and second.remote_root == "/"


def test_invalid_yaml_names_line_and_column() -> None:
    assert error_of("cloud:\n  client_id: [unclosed\n").startswith("/etc/syncd.yaml:3:")


def test_unknown_key_is_an_error_at_its_line() -> None:
    message = error_of("sync:\n  poll_interval: 5\n  pol_interval: 6\n")
    assert message == "/etc/syncd.yaml:3:3: sync.pol_interval: unknown key"


def test_wrong_type_names_the_key() -> None:
    message = error_of("sync:\n  transfers: many\n")
    assert message.startswith("/etc/syncd.yaml:2:3: sync.transfers:")


def test_yaml_1_1_booleans_are_not_strings() -> None:
    # `no` is False in YAML 1.1: never silently a string.
    assert "pairs.0.remote" in error_of("pairs:\n  - local: /a\n    remote: no\n")


def test_duplicate_keys_are_refused() -> None:
    assert "duplicate key 'debounce'" in error_of("sync:\n  debounce: 1\n  debounce: 2\n")


def test_missing_and_relative_roots() -> None:
    assert error_of("pairs:\n  - remote: /x\n") == (
        "/etc/syncd.yaml:2:5: pairs.0.local: required key is missing"
    )
    assert "must be an absolute path" in error_of("pairs:\n  - local: relative/dir\n")


def test_overlapping_pairs_are_refused() -> None:
    message = error_of("pairs:\n  - local: /a\n  - local: /a/b\n")
    assert "overlaps pair 'a'" in message


def test_remote_path_cannot_climb() -> None:
    assert "'.' or '..'" in error_of("pairs:\n  - local: /a\n    remote: /x/../y\n")


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", defaults=DEFAULTS)


def test_example_config_parses_and_documents_every_key() -> None:
    from syncd.config import ConfigModel

    example = Path(__file__).resolve().parents[2] / "config.example.yaml"
    config = parse_config(example.read_text(encoding="utf-8"), source=example, defaults=DEFAULTS)
    assert config.pairs
    text = example.read_text(encoding="utf-8")
    for section, model in ConfigModel.model_fields.items():
        assert f"{section}:" in text, section
        annotation = model.annotation
        fields = getattr(annotation, "model_fields", None)
        if fields is None:
            args = getattr(annotation, "__args__", ())
            fields = next((a.model_fields for a in args if hasattr(a, "model_fields")), {})
        for key in fields:
            assert f"{key}:" in text, f"{section}.{key} is not documented in config.example.yaml"


# --- bounds (a value that parses but cannot be used is an error at its place) ---------------


@pytest.mark.parametrize(
    ("section", "key", "value", "problem"),
    [
        ("sync", "poll_interval", "0", "must be from 1 s to 1 day"),
        ("sync", "poll_interval", ".inf", "must be a finite number"),
        ("sync", "poll_interval", "-.inf", "must be a finite number"),
        ("sync", "poll_interval", "2d", "must be from 1 s to 1 day"),
        ("sync", "poll_interval", "1" + "0" * 400, "must be from 1 s to 1 day"),
        ("sync", "poll_interval", '"1' + "0" * 400 + ' h"', "must be from 1 s to 1 day"),
        ("sync", "debounce", "61", "must be from 0 s to 1 min"),
        ("sync", "debounce", ".nan", "must be a finite number"),
        ("sync", "full_rescan_interval", "30s", "must be from 1 min to 30 days"),
        ("sync", "full_rescan_interval", "31d", "must be from 1 min to 30 days"),
        ("cloud", "connect_timeout", "0", "must be from 1 s to 1 h"),
        ("cloud", "read_timeout", "2h", "must be from 1 s to 1 h"),
        ("cloud", "read_timeout", ".nan", "must be a finite number"),
        ("sync", "upload_limit", '"2 PiB"', "must be from 0 B to 1 PiB"),
        ("sync", "download_limit", "1" + "0" * 30, "must be from 0 B to 1 PiB"),
        ("sync", "min_free_space", '"' + "9" * 400 + ' TiB"', "must be from 0 B to 1 PiB"),
        ("logging", "max_bytes", '"1.5 PiB"', "must be from 0 B to 1 PiB"),
        ("logging", "backups", "1001", "less than or equal to 1000"),
        ("sync", "trash_retention_days", "36501", "less than or equal to 36500"),
        ("sync", "max_delete_percent", ".nan", "finite number"),
        ("sync", "min_free_percent", ".inf", "finite number"),
        ("sync", "transfers", "65", "less than or equal to 64"),
    ],
)
def test_values_out_of_bounds_are_errors_at_their_place(
    section: str, key: str, value: str, problem: str
) -> None:
    message = error_of(f"{section}:\n  {key}: {value}\n")
    assert message.startswith(f"/etc/syncd.yaml:2:3: {section}.{key}: "), message
    assert problem in message


def test_values_at_their_bounds_are_accepted() -> None:
    low = parse(
        "cloud:\n  connect_timeout: 1\n  read_timeout: 1s\n"
        "sync:\n  poll_interval: 1\n  debounce: 0\n  full_rescan_interval: 1m\n"
        "  upload_limit: 0\n  trash_retention_days: 0\n"
    )
    assert low.sync.poll_interval_s == 1 and low.sync.debounce_s == 0
    assert low.sync.full_rescan_interval_s == 60 and low.cloud.connect_timeout_s == 1
    high = parse(
        "cloud:\n  connect_timeout: 1h\n  read_timeout: 3600\n"
        "sync:\n  poll_interval: 1d\n  debounce: 60\n  full_rescan_interval: 30d\n"
        "  upload_limit: 1 PiB\n  min_free_space: 1125899906842624\n"
        "  trash_retention_days: 36500\n"
        "logging:\n  max_bytes: 1 PiB\n  backups: 1000\n"
    )
    assert high.sync.poll_interval_s == 86400 and high.sync.full_rescan_interval_s == 30 * 86400
    assert high.sync.upload_limit == 1024**5 == high.sync.min_free_space
    assert high.cloud.read_timeout_s == 3600 and high.logging.backups == 1000


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ('""', "empty pattern"),
        ('"   "', "empty pattern"),
        ('"!"', "not a valid gitignore-style pattern"),
        ('"a\\\\"', "not a valid gitignore-style pattern"),
        ('"#comment"', "matches nothing"),
        ('"[abc"', "matches nothing"),
    ],
)
def test_bad_exclude_patterns_are_errors_at_their_place(pattern: str, problem: str) -> None:
    message = error_of(
        f"pairs:\n  - local: /a\n    excludes:\n      - '*.tmp'\n      - {pattern}\n"
    )
    assert message.startswith("/etc/syncd.yaml:5:9: pairs.0.excludes.1: "), message
    assert problem in message


def test_a_config_file_over_1_mib_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    # Valid YAML (all comments) that would parse to the defaults, were it read.
    path.write_text(("#" * 1023 + "\n") * 1024 + "#\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, defaults=DEFAULTS)
    assert str(caught.value) == f"{path}: the config file is larger than 1 MiB"
    path.write_text(("#" * 1023 + "\n") * 1024, encoding="utf-8")  # 1 MiB exactly: fine
    assert load_config(path, defaults=DEFAULTS).pairs == ()


BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_aliases_that_expand_without_bound_are_refused() -> None:
    message = error_of(BILLION_LAUGHS)
    assert message.startswith("/etc/syncd.yaml:")
    assert "aliases expand to more than 100000 values" in message


def test_a_recursive_alias_is_refused() -> None:
    assert "aliases expand to more than" in error_of("pairs: &p\n  - local: /a\n    x: *p\n")


def test_nesting_too_deep_is_an_error_not_a_crash() -> None:
    message = error_of("sync: " + "[" * 5000 + "]" * 5000 + "\n")
    assert message.startswith("/etc/syncd.yaml: invalid YAML: nested too deeply")


def test_plain_anchors_and_aliases_stay_legal() -> None:
    config = parse(
        "pairs:\n"
        "  - local: /a\n    excludes: &common ['*.tmp', 'build/']\n"
        "  - local: /b\n    excludes: *common\n"
    )
    assert config.pairs[0].excludes == config.pairs[1].excludes == ("*.tmp", "build/")


def test_a_busy_loop_poll_interval_stops_the_command_with_exit_2(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from syncd.cli import main

    path = tmp_path / "config.yaml"
    path.write_text(f"state_dir: {tmp_path / 'state'}\nsync:\n  poll_interval: 0\n")
    result = CliRunner().invoke(main, ["status", "--config", str(path)])
    assert result.exit_code == 2
    assert f"{path}:3:3: sync.poll_interval: must be from 1 s to 1 day" in result.output


def test_the_dashboard_is_off_and_on_loopback_by_default() -> None:
    web = parse("").web
    assert (web.enabled, web.host, web.port) == (False, "127.0.0.1", 8977)


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:9000", "127.0.0.1", 9000),
        ("localhost:8977", "localhost", 8977),
        ("[::1]:8977", "::1", 8977),
        ("0.0.0.0:8977", "0.0.0.0", 8977),  # written explicitly: the user's choice
        ("127.0.0.1:0", "127.0.0.1", 0),  # any free port (`syncd web` reads the one taken)
    ],
)
def test_the_dashboard_listen_address(listen: str, host: str, port: int) -> None:
    web = parse(f'web:\n  enabled: true\n  listen: "{listen}"\n').web
    assert (web.enabled, web.host, web.port) == (True, host, port)


@pytest.mark.parametrize(
    ("listen", "problem"),
    [
        ("8977", "not a listen address"),
        ("127.0.0.1", "not a listen address"),
        ("127.0.0.1:http", "not a listen address"),
        ("127.0.0.1:70000", "port must be 0 to 65535"),
        ("example.com:8977", "must be an IP address or localhost"),
        ("::1:8977", "not a listen address"),
        ("[::1:8977", "not a listen address"),
    ],
)
def test_a_bad_dashboard_listen_address_names_its_place(listen: str, problem: str) -> None:
    message = error_of(f'web:\n  enabled: true\n  listen: "{listen}"\n')
    assert message.startswith("/etc/syncd.yaml:3:3: web.listen: "), message
    assert problem in message, message


# --- desktop notifications -------------------------------------------------------------------


def test_notifications_default_to_auto_and_take_on_off_or_a_boolean() -> None:
    assert parse("").notifications == "auto"
    assert parse('notifications: "auto"\n').notifications == "auto"
    # YAML 1.1 reads a bare on/off as a boolean: for a switch, that is what it means.
    assert parse("notifications: on\n").notifications == "on"
    assert parse("notifications: off\n").notifications == "off"
    assert parse("notifications: false\n").notifications == "off"
    assert parse('notifications: "on"\n').notifications == "on"


@pytest.mark.parametrize("value", ["sometimes", "1", "[on]", '""'])
def test_a_bad_notifications_value_is_an_error_at_its_place(value: str) -> None:
    message = error_of(f"sync:\n  debounce: 1\nnotifications: {value}\n")
    assert message.startswith("/etc/syncd.yaml:3:1: notifications: "), message
    assert "auto, on or off" in message, message
