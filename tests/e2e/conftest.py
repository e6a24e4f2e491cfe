"""Browser tests: a real daphne on a free port, a database of its own, and
Debian's Chromium driven by Playwright (sync API).

The in-process fixtures of tests/conftest.py (channel layer, presence, password
hashers) do not reach the server: it is a separate process, configured only by
the environment given to it here. Every test makes users of its own, so tests do
not depend on each other or on their order.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
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
PASSWORD = "e2e-Pass-4821!"
RUN_ID = secrets.token_hex(4)
TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(
        reason=f"browser tests need Debian's Chromium at {CHROMIUM} "
        "(apt-get install chromium; .ci/run does it)"
    )
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(skip)


# --- The server -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _database() -> Iterator[str]:
    """A database for this run only: PostgreSQL when DATABASE_URL names one
    (created beside it, dropped at the end), else a temp-file SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql", "pgsql", "psql"):
        import psycopg

        name = f"chat_e2e_{RUN_ID}"
        admin_url = urlunsplit(
            ("postgresql", parts.netloc, "/postgres", parts.query, "")
        )
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
        finally:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    tmp = tempfile.mkdtemp(prefix="chat-e2e-")
    try:
        yield f"sqlite:///{tmp}/e2e.sqlite3"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Server:
    """daphne in a subprocess; stop() and start() again keep the same port."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.daphne = str(Path(sys.executable).parent / "daphne")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30) -> None:
        assert not self.running, "the server is already running"
        with self.log_path.open("ab") as log:
            log.write(f"\n=== daphne start {time.strftime('%X')}\n".encode())
            self.proc = subprocess.Popen(
                [
                    self.daphne,
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "chatproject.asgi:application",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"daphne exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/accounts/login/", timeout=2):
                    return
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"daphne did not answer in {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, as a deploy or a crash-restart would; wait for the exit."""
        if not self.running:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.running:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Backend:
    """Set up data the quick way: Django code in a `manage.py shell` subprocess
    on the server's database (a message stored here is not broadcast live
    unless the server shares a Redis channel layer)."""

    env: dict[str, str]
    counter: int = 0

    def run(self, code: str, **data: Any) -> Any:
        """Run `code` with `data` bound; it may set `result` (JSON-able)."""
        script = (
            "import json\n"
            f"data = json.loads({json.dumps(json.dumps(data))})\n"
            "result = None\n"
            f"{code}\n"
            "print('E2E-RESULT:' + json.dumps(result))\n"
        )
        proc = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"manage.py shell failed:\n{proc.stderr[-3000:]}")
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith("E2E-RESULT:"):
                return json.loads(line.removeprefix("E2E-RESULT:"))
        raise RuntimeError(f"no result from manage.py shell:\n{proc.stdout[-2000:]}")

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}{RUN_ID[:4]}"

    def users(self, *prefixes: str, exact: bool = False) -> list[str]:
        """Create users (password PASSWORD); fresh names unless `exact`."""
        names = list(prefixes) if exact else [self.unique(p) for p in prefixes]
        self.run(
            "from django.contrib.auth import get_user_model\n"
            "from django.contrib.auth.hashers import make_password\n"
            "hashed = make_password(data['password'])\n"
            "for name in data['names']:\n"
            "    get_user_model().objects.create(username=name, password=hashed)\n",
            names=names,
            password=PASSWORD,
        )
        return names

    def room(
        self,
        owner: str,
        name: str,
        *,
        kind: str = "public",
        topic: str = "",
        members: tuple[str, ...] = (),
    ) -> str:
        self.run(
            "from django.contrib.auth import get_user_model\n"
            "from chat import services\n"
            "User = get_user_model()\n"
            "owner = User.objects.get(username=data['owner'])\n"
            "room = services.room_create(user=owner, name=data['name'],"
            " kind=data['kind'], topic=data['topic'])\n"
            "for m in User.objects.filter(username__in=data['members']):\n"
            "    services.membership_add(room=room, user=m)\n",
            owner=owner,
            name=name,
            kind=kind,
            topic=topic,
            members=list(members),
        )
        return name

    def messages(
        self,
        room: str,
        posts: list[tuple[str, str]],
        *,
        days_ago: int = 0,
    ) -> list[int]:
        """Store (username, body) posts in order; dated `days_ago` days back."""
        return self.run(
            "import datetime\n"
            "from django.contrib.auth import get_user_model\n"
            "from django.utils import timezone\n"
            "from chat import services\n"
            "from chat.models import Message\n"
            "users = {u.username: u for u in get_user_model().objects.filter("
            "username__in={a for a, _ in data['posts']})}\n"
            "result = []\n"
            "for author, body in data['posts']:\n"
            "    sent = services.message_send(user=users[author],"
            " room_name=data['room'], body=body)\n"
            "    result.append(sent.message.id)\n"
            "if data['days_ago']:\n"
            "    start = timezone.now() - datetime.timedelta(days=data['days_ago'])\n"
            "    for i, pk in enumerate(result):\n"
            "        Message.objects.filter(pk=pk).update("
            "created_at=start + datetime.timedelta(minutes=3 * i))\n",
            room=room,
            posts=[list(p) for p in posts],
            days_ago=days_ago,
        )


@pytest.fixture(scope="package")  # torn down with the browser, after these tests
def _server() -> Iterator[Server]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"server-{RUN_ID}.log"
    with _database() as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DEBUG": "true",
            "CHAT_REDIS_PREFIX": f"e2e-{RUN_ID}",
            "PYTHONUNBUFFERED": "1",
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
        server = Server(env, _free_port(), log_path)
        server.start()
        try:
            yield server
        finally:
            server.stop()
            _redis_cleanup(env)


def _redis_cleanup(env: dict[str, str]) -> None:
    if not env.get("REDIS_URL"):
        return
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        keys = list(client.scan_iter(f"{env['CHAT_REDIS_PREFIX']}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


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
