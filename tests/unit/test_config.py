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
