"""The README's two commands stay what CI and users run."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = (
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'"
        " && .venv/bin/python -m pytest -q"
    )
    assert command in readme
    assert command in ci


def test_readme_starts_with_the_demo() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/syncd demo"
    assert demo in readme
    assert readme.index(demo) < readme.index("pytest")


def test_ci_installs_chromium_and_never_skips_the_browser_tests() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install -y -qq chromium" in ci
    assert ci.index("export SYNCD_REQUIRE_BROWSER=1") < ci.index(".venv/bin/python -m pytest")


def test_the_readme_shows_the_dashboard_screenshots() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("dashboard-desktop.png", "dashboard-phone.png"):
        assert f"(docs/{name})" in readme
        assert (ROOT / "docs" / name).stat().st_size > 10_000
