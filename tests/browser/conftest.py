"""A live server and headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.helpers import make_config
from webapp import create_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture()
def live_server(app, database_url):
    """The site served over HTTP on a free local port, CSRF protection on, on the test database."""
    served = create_app(make_config(database_url, WTF_CSRF_ENABLED=True))
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


SCREENSHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "build", "screenshots")


@pytest.fixture(scope="session")
def save_screenshot():
    """Save a full-page screenshot as build/screenshots/NAME.png (kept after the run, never committed)."""
    os.makedirs(SCREENSHOTS, exist_ok=True)

    def save(page, name: str) -> str:
        path = os.path.join(SCREENSHOTS, f"{name}.png")
        page.screenshot(path=path, full_page=True)
        return path

    return save


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (make test does).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    """A fresh browser tab; a test fails if anything on its pages broke the Content-Security-Policy."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    policy_violations: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: policy_violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.js_errors = errors
    yield page
    context.close()
    assert policy_violations == []
