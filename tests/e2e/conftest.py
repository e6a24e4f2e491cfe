"""Browser tests: a real daphne on a free port, a database of its own, and
Debian's Chromium driven by Playwright (sync API).

The in-process fixtures of tests/conftest.py (channel layer, presence, password
hashers) do not reach the server: it is a separate process, configured only by
the environment given to it here. Every test makes users of its own, so tests do
not depend on each other or on their order.
"""

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from ..servers import (
    PASSWORD,
    ROOT,
    RUN_ID,
    Backend,
    Server,
    backend_stop,
    database,
    free_port,
    redis_cleanup,
)

E2E_DIR = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
# The README's screenshots are replaced only on request (UPDATE_SCREENSHOTS=1);
# otherwise each run leaves its own beside the other test artifacts.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else ARTIFACTS / "screenshots"
)
TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    browser_tests = [i for i in items if E2E_DIR in Path(str(i.path)).parents]
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(
            reason=f"browser tests need Debian's Chromium at {CHROMIUM} "
            "(apt-get install chromium; .ci/run does it)"
        )
        for item in browser_tests:
            item.add_marker(skip)
        return
    # E2E_ONLY=test_a,test_b: only those browser test modules (.ci/run's
    # production-path run takes the acceptance tests: the page is the same on
    # both configurations, and the whole set adds about 8 minutes).
    if only := os.environ.get("E2E_ONLY"):
        wanted = {name.strip() for name in only.split(",")}
        kept = [i for i in browser_tests if Path(str(i.path)).stem in wanted]
        dropped = [i for i in browser_tests if i not in kept]
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]


# --- The server -------------------------------------------------------------------


# Where the server's emails land, one file per connection (Django's file backend).
MAILBOX = ARTIFACTS / f"mail-{RUN_ID}"


@pytest.fixture(scope="package")  # torn down with the browser, after these tests
def _server() -> Iterator[Server]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"server-{RUN_ID}.log"
    with database("e2e") as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DEBUG": "true",
            "CHAT_REDIS_PREFIX": f"e2e-{RUN_ID}",
            "PYTHONUNBUFFERED": "1",
            # Notifications' jobs in the server's process (the embedded default's
            # way, on PostgreSQL and Redis too), their emails as files to read,
            # sent as soon as they are due.
            "CHAT_JOBS_IN_PROCESS": "true",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(MAILBOX),
            "CHAT_EMAIL_DELAY": "0",
        }
        if not os.environ.get("REDIS_URL"):
            env.pop("REDIS_URL", None)
        with log_path.open("wb") as log:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
            )
        server = Server(env, free_port(), log_path)
        server.start()
        try:
            yield server
        finally:
            server.stop()
            backend_stop(env)
            redis_cleanup(env)


@pytest.fixture
def server(_server: Server) -> Server:
    """The session's server, started again if a test left it stopped."""
    if not _server.running:
        _server.start()
    return _server


@pytest.fixture(scope="package")
def backend(_server: Server) -> Backend:
    return Backend(_server.env)


# --- The browser ------------------------------------------------------------------


# Package scope: Playwright's sync API keeps an event loop running in the main
# thread while it is open, which would break asyncio in the tests after these.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
            ],
        )
        yield browser
        browser.close()


@dataclass
class Actor:
    """One user in a browser context of their own."""

    username: str
    context: BrowserContext
    page: Page
    base_url: str
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        return self.page

    def close(self) -> None:
        self.context.close()


def login(context: BrowserContext, username: str, base_url: str) -> Page:
    page = context.new_page()
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    return page


_live_actors: list[Actor] = []


@pytest.fixture
def open_as(browser: Browser, server: Server) -> Iterator[Callable[..., Actor]]:
    """open_as(username, path="/", viewport=..., color_scheme=...) -> Actor:
    a fresh context, logged in, at `path`. Page errors fail the test."""
    actors: list[Actor] = []
    _live_actors[:] = []

    def open_(
        username: str,
        path: str | None = "/",
        *,
        viewport: dict[str, int] | None = None,
        color_scheme: str = "light",
    ) -> Actor:
        viewport = viewport or DESKTOP
        phone = viewport["width"] < 600
        context = browser.new_context(
            viewport=viewport,
            is_mobile=phone,
            has_touch=phone,
            color_scheme=color_scheme,
            locale="en-US",
            timezone_id="UTC",
        )
        context.set_default_timeout(TIMEOUT_MS)
        actor = Actor(username, context, None, server.url)  # type: ignore[arg-type]

        def watch(page: Page) -> None:
            page.on(
                "pageerror",
                lambda error: actor.page_errors.append(f"{page.url}: {error}"),
            )
            page.on(
                "console",
                lambda msg: (
                    actor.console_errors.append(f"{page.url}: {msg.text}")
                    if msg.type == "error"
                    else None
                ),
            )

            def on_dialog(dialog: Any) -> None:
                actor.dialogs.append(f"{dialog.type}: {dialog.message}")
                if dialog.type in ("confirm", "beforeunload"):
                    dialog.accept()
                else:
                    dialog.dismiss()

            page.on("dialog", on_dialog)

        context.on("page", watch)
        actor.page = login(context, username, server.url)
        if path is not None:
            actor.goto(path)
        actors.append(actor)
        _live_actors.append(actor)
        return actor

    yield open_
    _live_actors[:] = []
    problems = []
    for actor in actors:
        actor.context.close()
        if actor.page_errors:
            problems.append(f"{actor.username}: {actor.page_errors}")
        alerts = [d for d in actor.dialogs if not d.startswith("confirm")]
        if alerts:
            problems.append(f"{actor.username} got dialogs: {alerts}")
    if problems:
        pytest.fail("errors in the page:\n" + "\n".join(problems))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    if E2E_DIR not in Path(str(item.path)).parents:
        return
    shots = []
    for actor in _live_actors:
        for i, page in enumerate(actor.context.pages):
            path = ARTIFACTS / f"{item.name}-{actor.username}-{i}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                shots.append(str(path.relative_to(ROOT)))
            except Exception as error:  # a closed page, a dead browser
                shots.append(f"{path.name}: {error}")
        if actor.console_errors:
            report.sections.append(
                (f"console errors ({actor.username})", "\n".join(actor.console_errors))
            )
    if shots:
        report.sections.append(("screenshots", "\n".join(shots)))
    server = item.funcargs.get("server")
    if isinstance(server, Server):
        report.sections.append(("server log (tail)", server.log_tail()))
