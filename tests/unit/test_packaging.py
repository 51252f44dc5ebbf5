"""The wheel as pip would install it: built from this tree, then opened and read; and what
it ships beside the code, the commented example config, which `syncd init --example` prints
from an installed syncd as from a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from email.message import Message
from email.parser import Parser
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement

from syncd.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
# Operators that put a ceiling on a version (`~=` stops below the next release of its
# second-to-last part).
_CEILINGS = {"<", "<=", "==", "~="}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # No index, no isolated build: the build backend comes from the test extras, and the
    # test never reaches a network.
    build = ["wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run(
        [sys.executable, "-m", "pip", *build, "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("syncd-*.whl")
    return zipfile.ZipFile(built)


def _dist_info(wheel: zipfile.ZipFile) -> str:
    (name,) = {n.split("/")[0] for n in wheel.namelist() if n.split("/")[0].endswith(".dist-info")}
    return name


def _metadata(wheel: zipfile.ZipFile) -> Message:
    text = wheel.read(f"{_dist_info(wheel)}/METADATA").decode("utf-8")
    return Parser().parsestr(text)


def test_the_wheel_ships_the_type_marker_the_license_and_the_migrations(
    wheel: zipfile.ZipFile,
) -> None:
    names = set(wheel.namelist())
    assert "syncd/py.typed" in names  # the typed client is typed for its users too
    license_text = wheel.read(f"{_dist_info(wheel)}/licenses/LICENSE").decode("utf-8")
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text  # the full text, not a pointer
    for migration in ("env.py", "script.py.mako", "versions/0001_initial.py"):
        assert f"syncd/_migrations/{migration}" in names


def test_the_metadata_says_license_python_versions_and_where_to_look(
    wheel: zipfile.ZipFile,
) -> None:
    metadata = _metadata(wheel)
    assert metadata["License-Expression"] == "Apache-2.0"
    classifiers = metadata.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert "Operating System :: POSIX :: Linux" in classifiers
    pythons = [c for c in classifiers if c.startswith("Programming Language :: Python :: 3.")]
    assert pythons, "no Python version claimed"
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata.get_all("Project-URL")


def test_every_dependency_has_a_ceiling_that_admits_what_is_installed(
    wheel: zipfile.ZipFile,
) -> None:
    requirements = [Requirement(raw) for raw in _metadata(wheel).get_all("Requires-Dist") or []]
    assert requirements
    unbounded = [str(r) for r in requirements if not _CEILINGS & {s.operator for s in r.specifier}]
    assert unbounded == []
    # The test extras and every runtime dependency are installed here: the bounds must
    # admit the versions the suite runs with.
    refused = []
    for requirement in requirements:
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            continue  # an optional extra this environment did not install
        if not requirement.specifier.contains(installed, prereleases=True):
            refused.append(f"{requirement} refuses the installed {installed}")
    assert refused == []


def test_init_example_prints_the_example_config() -> None:
    result = CliRunner().invoke(main, ["init", "--example"])
    assert result.exit_code == 0, result.output
    assert result.output == EXAMPLE


def test_the_wheel_ships_the_example_config_and_prints_it_installed(
    wheel: zipfile.ZipFile, tmp_path: Path
) -> None:
    shipped = wheel.read("syncd/resources/config.example.yaml").decode("utf-8")
    assert shipped == EXAMPLE
    wheel.extractall(tmp_path / "installed")
    # The unpacked wheel first on the path, run from elsewhere: no checkout to fall back on.
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "installed")}
    printed = subprocess.run(
        [sys.executable, "-c", "import syncd, sys; print(syncd.__file__, file=sys.stderr)\n"
         "from syncd.cli import run; sys.argv = ['syncd', 'init', '--example']; run()"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    assert printed.stderr.startswith(str(tmp_path / "installed")), printed.stderr
    assert printed.stdout == EXAMPLE
