"""Real headless Chromium for the dashboard's tests: Debian's `chromium` driven by Playwright
(`executable_path`; Playwright's own browser download is not reachable here), with launch
flags that need no network and no sandbox of Chromium's own. Screenshots go to
`artifacts/screenshots/` at the repository's root (git-ignored, kept by CI)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-precise-memory-info",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or CHROMIUM
    if not Path(path).exists():
        raise RuntimeError(
            "Chromium is missing: apt-get install chromium chromium-driver (.ci/run does)"
        )
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    """A fresh browser (Playwright gives each launch a new, temporary profile)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=FLAGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name
