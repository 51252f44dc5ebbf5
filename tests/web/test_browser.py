"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against a real
`syncd run --web` and the emulator over loopback.

CI installs Chromium and sets SYNCD_REQUIRE_BROWSER=1, so there these tests fail rather than
skip when it is missing; elsewhere they skip with the reason. Screenshots go to tmp_path, or
to $SYNCD_SCREENSHOTS (how `docs/` got its pictures).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from syncd.emulator import Emulator
from tests.daemon_proc import DEADLINE_S, DaemonProcess, wait_for

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = DEADLINE_S * 1000
LATER = datetime.now() + timedelta(minutes=5)
HOSTILE = "<img src=x onerror=window.__pwned=1>.txt"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("SYNCD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser tests need {missing}")
        pytest.skip(f"the browser tests need {missing}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        context.set_default_timeout(WAIT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    browser.clear_cookies()
    page = browser.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        page.close()
    assert errors == [], f"the page's script failed: {errors}"


@contextmanager
def _daemon(tmp_path: Path, *pairs: str, **sync: str) -> Iterator[DaemonProcess]:
    with Emulator() as emu:
        daemon = DaemonProcess(emu, tmp_path, pairs, sync)
        for pair in pairs:
            emu.put_file(f"sync-{pair}/readme.txt", f"the {pair} folder".encode())
        daemon.start()
        try:
            yield daemon
        finally:
            code = daemon.stop()
        assert code == 0, daemon.output


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    with _daemon(tmp_path, "docs") as daemon:
        yield daemon


def _open(page: Page, daemon: DaemonProcess) -> Locator:
    """The page at the address `syncd web` printed, once the pair has synced; its card."""
    from playwright.sync_api import expect

    response = page.goto(daemon.url)
    assert response is not None and response.status == 200
    assert "token=" not in page.url  # traded for the cookie, out of the history
    card = page.locator("article.pair").first
    expect(card.locator(".badge")).to_have_text("Up to date")
    return card


def _listed_after_now(daemon: DaemonProcess) -> None:
    """Wait until every pair's poller has listed the cloud again (one pair lists per call)."""
    listings = daemon.emu.stats.snapshot().calls["folder_get"]
    pairs = len(daemon.pairs)
    wait_for(
        lambda: daemon.emu.stats.snapshot().calls["folder_get"] >= listings + 2 * pairs,
        "the pollers to list the cloud again",
    )


def _recent(page: Page) -> Locator:
    return page.locator("#recent li")


# --- what the issue asks, one by one -------------------------------------------------------


def test_a_file_edited_in_the_cloud_shows_up_in_the_activity_list(
    page: Page, daemon: DaemonProcess
) -> None:
    from playwright.sync_api import expect

    _open(page, daemon)
    expect(_recent(page).filter(has_text="readme.txt")).to_contain_text("downloaded")
    daemon.emu.put_file("sync-docs/readme.txt", b"edited in the cloud", created=LATER)
    daemon.emu.put_file(f"sync-docs/{HOSTILE}", b"a name full of markup")
    expect(_recent(page).first).to_contain_text("downloaded")
    edited = _recent(page).filter(has_text="readme.txt")
    expect(edited).to_have_count(2)  # the first download, then the edit
    # A name is text, never markup: shown as written, and nothing ran.
    expect(_recent(page).filter(has_text=HOSTILE)).to_have_count(1)
    assert page.locator("#recent img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert (daemon.local("docs") / "readme.txt").read_bytes() == b"edited in the cloud"


def test_a_conflict_is_resolved_from_the_page_and_both_sides_end_identical(
    page: Page, daemon: DaemonProcess
) -> None:
    from playwright.sync_api import expect

    card = _open(page, daemon)
    # Edit both sides while the pair is paused, so that neither edit syncs before the other.
    card.get_by_role("button", name="Pause docs").click()
    expect(card.locator(".badge")).to_have_text("Paused")
    (daemon.local("docs") / "readme.txt").write_text("edited here")
    daemon.emu.put_file("sync-docs/readme.txt", b"edited in the cloud", created=LATER)
    # The poller goes on while paused: resume once it has seen the cloud's edit, or the
    # pass could upload over a listing from before it (refused, and retried 30 s later).
    _listed_after_now(daemon)
    card.get_by_role("button", name="Resume docs").click()

    conflicts = card.locator("section.conflicts")
    expect(conflicts).to_contain_text("readme.txt")
    expect(card.locator(".badge")).to_have_text("Needs you")
    conflicts.get_by_role("button", name="Keep this computer's version of readme.txt").click()
    expect(page.locator("#notice")).to_contain_text("kept this computer's version")
    expect(conflicts).to_be_hidden()
    expect(card.locator(".badge")).to_have_text("Up to date")

    def identical() -> bool:
        local, cloud = daemon.local_tree("docs"), daemon.cloud_tree("docs")
        return local == cloud and local.get("readme.txt") == b"edited here"

    wait_for(identical, "both sides to hold this computer's version, and no copy")
    assert list(daemon.local_tree("docs")) == ["readme.txt"]
    # The cloud's version is not lost: it went to the local trash, and the page lists it.
    card.locator("summary", has_text="Local trash").click()
    expect(card.locator("details", has_text="Local trash")).to_contain_text("readme.txt")


def test_pause_stops_transfers_and_resume_with_a_new_limit_finishes_them(
    page: Page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with _daemon(tmp_path, "docs", download_limit="'2 MiB'") as daemon:
        card = _open(page, daemon)
        size = 24 * 1024 * 1024
        daemon.emu.put_file("sync-docs/large.bin", os.urandom(size), created=LATER)
        transfers = card.locator("section.transfers")
        expect(transfers).to_contain_text("large.bin")
        expect(card.locator(".badge")).to_have_text("Syncing")

        # From the keyboard: focus the button and press Enter.
        page.get_by_role("button", name="Pause all").focus()
        page.keyboard.press("Enter")
        expect(card.locator(".badge")).to_have_text("Paused")
        expect(transfers).to_be_hidden()
        expect(page.get_by_role("button", name="Resume all")).to_be_visible()
        partials = list(daemon.local("docs").glob(".large.bin.*"))
        assert len(partials) == 1 and 0 < partials[0].stat().st_size < size
        stopped_at = partials[0].stat().st_size
        listings = daemon.emu.stats.snapshot().calls["folder_get"]
        # Three more polls of the cloud (1 s apart) while paused: not one byte more.
        wait_for(
            lambda: daemon.emu.stats.snapshot().calls["folder_get"] >= listings + 3,
            "three polls while paused",
        )
        assert partials[0].stat().st_size == stopped_at
        assert not (daemon.local("docs") / "large.bin").exists()

        page.get_by_label("Download", exact=True).fill("0")
        page.get_by_role("button", name="Apply").click()
        expect(page.locator("#limits-now")).to_contain_text("download unlimited")
        page.get_by_role("button", name="Resume all").click()
        wait_for(lambda: (daemon.local("docs") / "large.bin").exists(), "the download to finish")
        assert (daemon.local("docs") / "large.bin").stat().st_size == size
        # It resumed from where the pause left it.
        assert daemon.emu.stats.snapshot().bytes_downloaded < 2 * size


def test_rescan_lists_the_cloud_now(page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    # Polls 10 minutes apart: without the button, the cloud's edit would wait that long.
    with _daemon(tmp_path, "docs", poll_interval="10m") as daemon:
        card = _open(page, daemon)
        daemon.emu.put_file("sync-docs/agenda.txt", b"monday", created=LATER)
        card.get_by_role("button", name="Rescan docs").click()
        expect(page.locator("#notice")).to_have_text("rescanning docs")
        expect(_recent(page).first).to_contain_text("agenda.txt")
        assert (daemon.local("docs") / "agenda.txt").read_bytes() == b"monday"


def test_without_the_token_401_and_with_a_foreign_host_421(
    page: Page, daemon: DaemonProcess
) -> None:
    response = page.goto(daemon.base)
    assert response is not None and response.status == 401
    assert "syncd web" in page.locator("body").inner_text()
    with httpx.Client(timeout=30) as client:
        assert client.get(f"{daemon.base}api/state").status_code == 401
        token = daemon.url.split("token=", 1)[1]
        authorized = {"Authorization": f"Bearer {token}"}
        assert client.get(f"{daemon.base}api/state", headers=authorized).status_code == 200
        port = daemon.base.rstrip("/").rsplit(":", 1)[1]
        rebound = {**authorized, "Host": f"rebind.example:{port}"}
        assert client.get(f"{daemon.base}api/state", headers=rebound).status_code == 421
    # And a page of another origin cannot make the browser change anything (no CORS, no
    # CSRF token): its POST is refused, and nothing is paused.
    _open(page, daemon)
    other = page.context.new_page()
    try:
        other.set_content("<p>another site</p>")
        status = other.evaluate(
            """async (url) => {
                try {
                    const r = await fetch(url, {method: "POST", body: "{}",
                        headers: {"Content-Type": "application/json"}, credentials: "include"});
                    return r.status;
                } catch (e) { return "blocked"; }
            }""",
            f"{daemon.base}api/pause",
        )
    finally:
        other.close()
    assert status == "blocked"  # no CORS answer: the browser does not even send it
    report = json.loads(daemon.syncd("status", "--json").stdout)
    assert report["pairs"]["docs"]["state"] != "paused"


# --- looks: widths, keyboard, light and dark -----------------------------------------------


def _screenshot_dir(tmp_path: Path) -> Path:
    wanted = os.environ.get("SYNCD_SCREENSHOTS")
    return Path(wanted) if wanted else tmp_path


def _overflows(page: Page) -> Any:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_the_page_at_laptop_and_phone_width_by_keyboard_in_light_and_dark(
    page: Page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with _daemon(tmp_path / "run", "documents", "photos", download_limit="'1 MiB'") as daemon:
        docs = _open(page, daemon)
        photos = page.locator("article.pair", has=page.locator("h2", has_text="photos"))
        expect(photos.locator(".badge")).to_have_text("Up to date")
        # Something to show: a conflict, the trash, a running transfer, some history.
        photos.get_by_role("button", name="Pause photos").click()
        expect(photos.locator(".badge")).to_have_text("Paused")
        (daemon.local("photos") / "readme.txt").write_text("retouched here")
        daemon.emu.put_file("sync-photos/readme.txt", b"retouched in the cloud", created=LATER)
        for name in ("holidays/beach.jpg", "holidays/dunes.jpg", "cat.jpg"):
            daemon.emu.put_file(f"sync-photos/{name}", os.urandom(2000))
        _listed_after_now(daemon)
        photos.get_by_role("button", name="Resume photos").click()
        expect(photos.locator("section.conflicts")).to_contain_text("readme.txt")
        daemon.emu.put_file("sync-documents/taxes-2026.pdf", os.urandom(8 * 1024 * 1024))
        expect(docs.locator("section.transfers")).to_contain_text("taxes-2026.pdf")
        expect(docs.locator(".badge")).to_have_text("Syncing")
        expect(page.locator("#overall")).to_have_text("Needs you")  # photos' conflict first
        expect(docs.locator("dl.stats")).to_contain_text("0 up, 1 down")  # the daemon's status

        shots = _screenshot_dir(tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        assert not _overflows(page)
        page.screenshot(path=str(shots / "dashboard-desktop.png"), full_page=True)

        # A phone, in the dark: one column, nothing wider than the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        page.emulate_media(color_scheme="dark")
        expect(docs.locator("section.transfers")).to_contain_text("taxes-2026.pdf")
        assert not _overflows(page)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)", background
        page.screenshot(path=str(shots / "dashboard-phone.png"), full_page=True)
        page.emulate_media(color_scheme="light")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != background

        # The keyboard: the skip link first, then the buttons in reading order, each with
        # a visible focus ring.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.reload()
        expect(docs.locator(".badge")).not_to_have_text("Starting")
        order: list[str] = []
        for _ in range(12):
            page.keyboard.press("Tab")
            focused = page.evaluate(
                """() => { const el = document.activeElement;
                    const ring = getComputedStyle(el).outlineStyle;
                    return [el.tagName, (el.getAttribute('aria-label') || el.textContent).trim(),
                            ring]; }"""
            )
            assert focused[2] != "none", f"no visible focus on {focused}"
            order.append(f"{focused[0]} {focused[1]}")
        assert order[0] == "A Skip to the folder pairs"
        assert order[1:5] == [
            "BUTTON Pause all",
            "BUTTON Rescan all",
            "BUTTON Pause documents",
            "BUTTON Rescan documents",
        ]
        # Every control is a real button or link, none a clickable div.
        assert page.locator("[onclick], div[tabindex], span[tabindex]").count() == 0
        page.get_by_role("button", name="Pause photos").focus()
        page.keyboard.press("Enter")
        expect(photos.locator(".badge")).to_have_text("Paused")
