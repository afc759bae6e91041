"""Headless Chromium for the HTML tests (leaderboard site, contact sheet), and screenshot
comparison with a snapshot.

Debian's ``chromium`` and ``chromium-driver`` are needed; without them a browser test is
skipped, unless ``LBAL_REQUIRE_BROWSER=1`` (set by .ci/run), which makes it fail.
Selenium is pointed at the system chromedriver, so it never downloads a driver.
``LBAL_UPDATE_SNAPSHOTS=1`` rewrites the snapshot instead of comparing.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest


def open_browser(profile: Path, window: tuple[int, int]):
    """A headless Chromium WebDriver with a ``window`` (width, height) and a fresh ``profile``
    directory; skips (or fails, see above) when Chromium is not installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        message = "Chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("LBAL_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars", "--force-device-scale-factor=1",
                 f"--window-size={window[0]},{window[1]}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def assert_looks_like(browser, snapshot: Path, tmp_path: Path) -> None:
    """The page in ``browser`` matches the PNG ``snapshot`` pixel by pixel: small
    anti-aliasing differences (≤ 0.5% of the pixels off by more than 16) pass, a moved
    block or a missing image does not; a failure saves the page as ``tmp_path/actual.png``."""
    from PIL import Image

    shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    if os.environ.get("LBAL_UPDATE_SNAPSHOTS") == "1":
        shot.save(snapshot, optimize=True)
    expected = Image.open(snapshot).convert("RGB")
    assert shot.size == expected.size
    difference = np.abs(np.asarray(shot, dtype=np.int16) - np.asarray(expected, dtype=np.int16)).max(axis=2)
    changed = float((difference > 16).mean())
    if changed > 0.005:
        shot.save(tmp_path / "actual.png")
        pytest.fail(f"{changed:.2%} of the pixels differ from {snapshot}; see {tmp_path / 'actual.png'}")
