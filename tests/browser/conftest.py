"""A real headless Chromium (Debian's, at /usr/bin/chromium) driven by Playwright.

One browser per test: the event loops are function scoped, and Playwright's connection
lives on the loop that started it. Chromium starts in about half a second.
There is no skip: without Chromium the test fails and says what is missing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from pbx_dialer.http.auth import COOKIE
from tests.conftest import ARTIFACTS, TEST_SESSION

CHROMIUM = Path(os.environ.get("PBX_DIALER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ARTIFACTS / "screenshots"
WIDTHS = (1280, 1920)
# The page and each panel must fit their width: no sideways scrolling anywhere.
SPILLS = """() => [document.documentElement, ...document.querySelectorAll('.panel, .tile')]
  .filter((el) => el.scrollWidth > el.clientWidth + 1)
  .map((el) => `${el.id || el.className || el.tagName}: ${el.scrollWidth} > ${el.clientWidth}`)"""


@pytest.fixture
def chromium() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is needed for the browser tests but {CHROMIUM} is missing or not "
            "executable: install Debian's package (apt-get install chromium) or point "
            "PBX_DIALER_CHROMIUM at a Chromium binary",
            pytrace=False,
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


@pytest_asyncio.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            await instance.close()


@dataclass
class PageProblems:
    """JavaScript errors and console errors seen on a page."""

    errors: list[str] = field(default_factory=list)

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "assert"):
            self.errors.append(f"console.{message.type}: {message.text} ({message.location})")


@dataclass
class WatchedPage:
    page: Page
    problems: PageProblems
    main_frame_navigations: list[str]


async def watch(page: Page) -> WatchedPage:
    """Records the page's JS errors and every main-frame navigation."""
    problems = PageProblems()
    navigations: list[str] = []
    page.on("pageerror", problems.on_page_error)
    page.on("console", problems.on_console)
    page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
    )
    return WatchedPage(page, problems, navigations)


async def log_in(context: BrowserContext) -> None:
    """Logs a browser context in as the test admin on every fixture's server."""
    await context.add_cookies(
        [{"name": COOKIE, "value": TEST_SESSION, "domain": "127.0.0.1", "path": "/"}]
    )


@pytest_asyncio.fixture
async def anonymous_page(browser: Browser) -> AsyncIterator[WatchedPage]:
    """A 1280 px wide page of a browser nobody has logged in with."""
    context = await browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    try:
        yield await watch(await context.new_page())
    finally:
        await context.close()


@pytest_asyncio.fixture
async def watched_page(browser: Browser) -> AsyncIterator[WatchedPage]:
    """A 1280 px wide page that records JS errors and every main-frame navigation,
    logged in as the test admin on any server a fixture started (tests/conftest.py
    stores the same session in each): its cookie is set for 127.0.0.1."""
    context = await browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    await log_in(context)
    try:
        yield await watch(await context.new_page())
    finally:
        await context.close()


async def screenshot(page: Page, name: str) -> list[Path]:
    """Save the whole page at each wall-screen width (failing if the layout spills out
    sideways), then go back to the first width."""
    saved = []
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 1080 if width >= 1920 else 800})
        # Let rows that just arrived finish their highlight before the picture is taken.
        await page.wait_for_timeout(100)
        path = SCREENSHOTS / f"{name}-{width}.png"
        await page.screenshot(path=str(path), full_page=True, animations="disabled")
        saved.append(path)
        spills = await page.evaluate(SPILLS)
        assert not spills, f"{name} at {width} px: content wider than its box: {spills} ({path})"
    await page.set_viewport_size({"width": WIDTHS[0], "height": 800})
    return saved
