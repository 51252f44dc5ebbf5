"""Which folders may be sync roots: never one holding syncd's own files (its state, the
token, the log, the config), never a system folder, never two names for one folder.

The parse compares the paths as written; `load_config` and every start compare them again
on disk, after resolving `..` and symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd import compose
from syncd.cli import main
from syncd.config import Defaults, check_pair_roots, load_config, parse_config
from syncd.errors import ConfigError

HOME = Path("/home/u")
DEFAULTS = Defaults(home=HOME, state_dir=HOME / ".local/state/syncd")
SOURCE = Path("/srv/conf/syncd.yaml")


def error_of(text: str, defaults: Defaults = DEFAULTS) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source=SOURCE, defaults=defaults)
    return str(caught.value)


# --- syncd's own files, as written ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # The default state dir (~/.local/state/syncd) and token file are in the home.
        ('pairs:\n  - local: "~"\n', "holds syncd's state folder (/home/u/.local/state/syncd)"),
        ("state_dir: /data/.syncd-state\npairs:\n  - local: /data\n", "holds syncd's state"),
        (
            "pairs:\n  - local: /home/u/.local/state/syncd/pairs\n",
            "is inside syncd's state folder (/home/u/.local/state/syncd)",
        ),
        (
            "state_dir: /var/lib/syncd\ncloud:\n  token_file: /data/keys/token.json\n"
            "pairs:\n  - local: /data\n",
            "holds syncd's token file (/data/keys/token.json)",
        ),
        (
            "state_dir: /var/lib/syncd\nlogging:\n  file: ~/Sync/syncd.log\n"
            "pairs:\n  - local: ~/Sync\n",
            "holds syncd's log file (/home/u/Sync/syncd.log)",
        ),
        (
            "state_dir: /var/lib/syncd\npairs:\n  - local: /srv/conf\n",
            "holds syncd's config file (/srv/conf/syncd.yaml)",
        ),
    ],
    ids=["home", "state dir", "inside the state dir", "token file", "log file", "config file"],
)
def test_a_root_holding_syncd_s_own_files_is_refused_at_its_local_key(
    text: str, problem: str
) -> None:
    message = error_of(text)
    line = text.splitlines().index(next(x for x in text.splitlines() if "local:" in x)) + 1
    assert message.startswith(f"{SOURCE}:{line}:5: pairs.0.local: "), message
    assert problem in message


def test_a_root_beside_syncd_s_files_is_fine() -> None:
    config = parse_config(
        "state_dir: /var/lib/syncd\nlogging:\n  file: /var/log/syncd.log\n"
        "pairs:\n  - local: ~/Orange\n  - local: ~/Orange-archive\n",
        source=SOURCE,
        defaults=DEFAULTS,
    )
    assert [p.local_root for p in config.pairs] == [HOME / "Orange", HOME / "Orange-archive"]


# --- system folders -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "root",
    [
        "/",
        "/etc",
        "/usr",
        "/var",
        "/boot",
        "/lib64",
        "/tmp",
        "/home",
        "/proc/self",
        "/sys/kernel",
        "/dev/shm",
    ],
)
def test_system_folders_are_refused(root: str) -> None:
    message = error_of(f"state_dir: /x/state\npairs:\n  - local: {root}\n")
    assert message.startswith(f"{SOURCE}:3:5: pairs.0.local: {root} is a system folder"), message


def test_the_parent_of_the_home_is_refused_wherever_it_is() -> None:
    defaults = Defaults(home=Path("/var/home/u"), state_dir=Path("/x/state"))
    assert "is a system folder" in error_of("pairs:\n  - local: /var/home\n", defaults)


@pytest.mark.parametrize("root", ["/etc/nginx", "/mnt/disk", "/run/media/u/usb", "/srv/data"])
def test_folders_below_system_folders_may_be_synced(root: str) -> None:
    config = parse_config(
        f"state_dir: /x/state\npairs:\n  - local: {root}\n", source=SOURCE, defaults=DEFAULTS
    )
    assert config.pairs[0].local_root == Path(root)


# --- on disk: `..` and symlinks resolved -----------------------------------------------------


def _write(tmp_path: Path, *roots: Path | str, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    pairs = "".join(f"  - name: p{i}\n    local: {root}\n" for i, root in enumerate(roots))
    path.write_text(f"state_dir: {tmp_path / 'state'}\n{extra}pairs:\n{pairs}")
    return path


def _load(path: Path) -> ConfigError:
    defaults = Defaults(home=HOME, state_dir=path.parent / "default-state")
    with pytest.raises(ConfigError) as caught:
        load_config(path, defaults=defaults)
    return caught.value


def test_two_names_for_one_folder_are_one_folder(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    error = _load(_write(tmp_path, tmp_path / "real", tmp_path / "link"))
    assert (error.line, error.column, error.key) == (6, 5, "pairs.1.local")
    assert f"{tmp_path / 'link'} overlaps pair 'p0' ({tmp_path / 'real'})" in str(error)


def test_a_dot_dot_that_climbs_back_into_another_root_is_an_overlap(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    error = _load(_write(tmp_path, tmp_path / "real", f"{tmp_path}/other/../real/sub"))
    assert error.key == "pairs.1.local" and "overlaps pair 'p0'" in str(error)


def test_a_root_that_does_not_exist_yet_resolves_through_its_nearest_ancestor(
    tmp_path: Path,
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    error = _load(_write(tmp_path, tmp_path / "real/new", tmp_path / "link/new/deeper"))
    assert error.key == "pairs.1.local" and "overlaps pair 'p0'" in str(error)


def test_a_link_to_a_system_folder_is_a_system_folder(tmp_path: Path) -> None:
    (tmp_path / "etc").symlink_to("/etc")
    error = _load(_write(tmp_path, tmp_path / "etc"))
    assert error.key == "pairs.0.local" and "is a system folder" in str(error)


def test_a_root_that_holds_the_state_through_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "root")
    path = tmp_path / "config.yaml"
    path.write_text(f"state_dir: {tmp_path / 'alias/.state'}\npairs:\n  - local: {tmp_path}/root\n")
    error = _load(path)
    assert (error.line, error.column) == (3, 5)
    assert "holds syncd's state folder" in str(error)


def test_a_root_that_holds_the_config_file_under_another_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "root")
    path = tmp_path / "root" / "syncd.yaml"
    path.write_text(f"state_dir: {tmp_path / 'state'}\npairs:\n  - local: {tmp_path}/alias\n")
    error = _load(path)
    assert "holds syncd's config file" in str(error)


def test_a_symlink_loop_on_the_way_to_a_root_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    error = _load(_write(tmp_path, tmp_path / "loop/inner"))
    assert error.key == "pairs.0.local" and "cannot be resolved" in str(error)


def test_folders_that_resolve_apart_load(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").symlink_to(tmp_path / "elsewhere")  # dangling: resolves to its target
    config = load_config(
        _write(tmp_path, tmp_path / "a", tmp_path / "b"),
        defaults=Defaults(home=HOME, state_dir=tmp_path / "default-state"),
    )
    assert len(config.pairs) == 2


# --- again at each start ----------------------------------------------------------------------


def test_each_start_checks_again_what_the_disk_holds_now(tmp_path: Path) -> None:
    """The config loaded while the roots were apart; a link made since joins them."""
    path = _write(tmp_path, tmp_path / "a", tmp_path / "b")
    config = load_config(path, defaults=Defaults(home=HOME, state_dir=tmp_path / "x"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(ConfigError) as direct:
        check_pair_roots(config)
    assert str(direct.value).startswith(f"{path}:6:5: pairs.1.local: ")
    with (
        pytest.raises(ConfigError, match="overlaps pair 'p0'"),  # `syncd sync`
        compose.open_store(config, config.pairs[0]),
    ):
        pass
    with pytest.raises(ConfigError, match="overlaps pair 'p0'"):  # the daemon's pairs
        compose.make_engine(config, config.pairs[0], None, None)  # type: ignore[arg-type]
    assert not (tmp_path / "state").exists()  # refused before any state was made


def test_the_command_exits_2_naming_the_local_key(tmp_path: Path) -> None:
    root = tmp_path / "root"
    path = tmp_path / "config.yaml"
    path.write_text(f"state_dir: {root / '.state'}\npairs:\n  - local: {root}\n")
    result = CliRunner().invoke(main, ["status", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}:3:5: pairs.0.local: {root} holds syncd's state folder" in result.output
    assert not root.exists()
    assert os.listdir(tmp_path) == ["config.yaml"]


def test_a_log_file_given_to_syncd_run_inside_a_root_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = tmp_path / "root"
    root.mkdir()
    path = tmp_path / "config.yaml"
    path.write_text(f"state_dir: {tmp_path / 'state'}\npairs:\n  - local: {root}\n")
    command = [sys.executable, "-m", "syncd", "run", "--config", str(path)]
    result = subprocess.run(
        [*command, "--log-file", str(root / "logs" / "syncd.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert f"{path}:3:5: pairs.0.local: {root} holds syncd's log file" in result.stderr
    assert list(root.iterdir()) == []  # no log file made there, nothing else either
