"""Real processes for the tests that need them: a database of the run's own,
workers (python -m chatproject.server, or chatproject.uvicorn_server), a private
Redis, and Django code run against a server's database.

The in-process fixtures of tests/conftest.py (channel layer, presence, password
hashers) do not reach these processes: they are configured only by the
environment given to them.
"""

import atexit
import itertools
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "e2e-Pass-4821!"
RUN_ID = secrets.token_hex(4)
_unique_numbers = itertools.count(1)  # one series per run: names never collide


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def database(label: str) -> Iterator[str]:
    """A database for this run only: PostgreSQL when DATABASE_URL names one
    (created beside it, dropped at the end), else a temp-file SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql", "pgsql", "psql"):
        import psycopg

        name = f"chat_{label}_{RUN_ID}"
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
    tmp = tempfile.mkdtemp(prefix=f"chat-{label}-")
    try:
        yield f"sqlite:///{tmp}/{label}.sqlite3"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def migrated_database(label: str) -> Iterator[str]:
    """`database(label)`, with the project's migrations applied."""
    with database(label) as url:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            capture_output=True,
        )
        yield url


# Each server's launcher and how it takes the address; `args` follow.
LAUNCHERS = {
    "daphne": ("chatproject.server", "-b", "-p"),
    "uvicorn": ("chatproject.uvicorn_server", "--host", "--port"),
}


class Server:
    """A worker (python -m chatproject.server, the graceful daphne launcher, or
    chatproject.uvicorn_server) in a subprocess; stop() and start() again keep
    the same port."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        log_path: Path,
        *args: str,
        server: str = "daphne",
    ) -> None:
        self.env = env
        self.server = server
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws/chat/"
        self.log_path = log_path
        self.args = args
        self.proc: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30) -> None:
        assert not self.running, "the server is already running"
        module, host_option, port_option = LAUNCHERS[self.server]
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {self.server} start {time.strftime('%X')}\n".encode())
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", module),
                    *(host_option, "127.0.0.1", port_option, str(self.port)),
                    *self.args,
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
                    f"{self.server} exited with {self.proc.returncode}:\n"
                    + self.log_tail()
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
        raise RuntimeError(
            f"{self.server} did not answer in {timeout} s:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, as a deploy or a crash-restart would; wait for the exit."""
        if not self.running:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
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


# Backend's processes (tests/backend_process.py), one per environment, for the run.
BACKEND_TIMEOUT = 60  # seconds for one request
_backend_processes: dict[tuple[tuple[str, str], ...], subprocess.Popen] = {}


def _backend_process(env: dict[str, str]) -> subprocess.Popen:
    key = tuple(sorted(env.items()))
    process = _backend_processes.get(key)
    if process is None or process.poll() is not None:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.backend_process"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        _backend_processes[key] = process
    return process


def backend_stop(env: dict[str, str]) -> None:
    """Stop the Backend process of `env`, if any (its servers are gone)."""
    process = _backend_processes.pop(tuple(sorted(env.items())), None)
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(10)


@atexit.register
def _stop_backend_processes() -> None:
    for key in list(_backend_processes):
        backend_stop(dict(key))


@dataclass
class Backend:
    """Set up data the quick way: Django code run on the server's database, in a
    process of its own (a fork of one set up with the server's environment; a
    message stored here is not broadcast live unless the server shares a Redis
    channel layer)."""

    env: dict[str, str]

    def run(self, code: str, **data: Any) -> Any:
        """Run `code` with `data` bound; it may set `result` (JSON-able)."""
        process = _backend_process(self.env)
        process.stdin.write(json.dumps({"code": code, "data": data}) + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], BACKEND_TIMEOUT)
        line = process.stdout.readline() if ready else ""
        if not line:
            process.kill()
            raise RuntimeError(f"no answer from the backend in {BACKEND_TIMEOUT} s")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"backend code failed:\n{reply['error']}")
        return reply["result"]

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(_unique_numbers)}{RUN_ID[:4]}"

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
            "from chat.domain import services\n"
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
            "from chat.domain import services\n"
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


class RedisServer:
    """A private redis-server on a free port, to stop and start at will (nothing
    kept on disk: a restart loses everything, as the chaos test wants)."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port)),
                    *("--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def redis_cleanup(env: dict[str, str]) -> None:
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
