"""Driving the dashboard in the browser tests' Chromium (Selenium): waiting for a navigation to
be drawn, logging in once per app through its printed URL, screenshots, reading lists, a
phone's screen, downloads."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

__all__ = ["act", "login", "open_page", "shot", "total", "row_ids", "phone", "desktop", "downloads", "downloaded"]

PHONE = (390, 844)


def act(browser: Any, action) -> None:
    """Run `action` (a navigation or a click) and wait until the page it leads to is rendered."""
    browser.execute_script("document.body && (document.body.dataset.rendered = '0')")
    action()
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.body.dataset.state === 'ready' && !!document.body.dataset.rendered"
        " && document.body.dataset.rendered !== '0'"))


def login(browser: Any, url: str, login_url: str) -> None:
    """Open the printed URL once: the app trades its token for a cookie and shows the page."""
    if url not in browser.logged_in:
        act(browser, lambda: browser.get(login_url))
        assert browser.current_url == url  # redirected to the clean URL: the token left the address bar
        browser.logged_in.add(url)


def open_page(browser: Any, pipeline: Any, fragment: str) -> None:
    login(browser, pipeline.url, pipeline.login_url)
    act(browser, lambda: browser.get(pipeline.url + fragment))


def shot(browser: Any, name: str) -> None:
    """A full-page screenshot (the window grown to the page's height; a phone's width kept)."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    if getattr(browser, "on_phone", False):
        _metrics(browser, PHONE[0], min(max(height, PHONE[1]), 8000))
        browser.save_screenshot(str(browser.artifacts / f"{name}.png"))
        _metrics(browser, *PHONE)
        return
    browser.set_window_size(1400, min(max(height, 1000), 6000))
    browser.save_screenshot(str(browser.artifacts / f"{name}.png"))
    browser.set_window_size(1400, 1000)


def total(browser: Any) -> int:
    """The list's total as drawn. Read in one script, so a live redraw between finding the element
    and reading it cannot leave a stale reference."""
    value = browser.execute_script(
        "const e = document.querySelector('main [data-testid=total]'); return e && e.dataset.total")
    assert value is not None, "the page shows no total"
    return int(value)


def row_ids(browser: Any, scope: str = "main") -> list[str]:
    return [tr.get_attribute("data-id") for tr in browser.find_elements(By.CSS_SELECTOR, f"{scope} tr[data-id]")]


def _metrics(browser: Any, width: int, height: int) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})


def phone(browser: Any) -> None:
    """A phone's screen, 390 x 844 CSS pixels (Chromium's window cannot be that narrow)."""
    _metrics(browser, *PHONE)
    browser.on_phone = True


def desktop(browser: Any) -> None:
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.on_phone = False
    browser.set_window_size(1400, 1000)


def downloads(browser: Any, folder: Path) -> Path:
    """Downloads go to `folder`, without asking."""
    folder.mkdir(parents=True, exist_ok=True)
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    return folder


def downloaded(folder: Path, before: set[Path], timeout: float = 30.0) -> Path:
    """The one file that arrived in `folder` since `before` (complete: no .crdownload)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [p for p in folder.iterdir() if p not in before and not p.name.endswith(".crdownload") and not p.name.startswith(".")]
        if new:
            assert len(new) == 1, new
            return new[0]
        time.sleep(0.2)
    raise AssertionError(f"nothing downloaded to {folder} within {timeout} s")
