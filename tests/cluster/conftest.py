"""Several workers as a deployer runs them: `python -m chatproject.server`
processes (or `chatproject.uvicorn_server`, where a test asks) on PostgreSQL and a
Redis of their own, nginx in front when installed.

These tests need PostgreSQL (DATABASE_URL, as CI sets it) and `redis-server`;
each cluster starts a private Redis on a free port, so a test can kill and restart
it without touching the machine's. The run's database is created beside
DATABASE_URL's and dropped at the end.
"""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from ..servers import (
    PASSWORD,
    ROOT,
    RUN_ID,
    Backend,
    RedisServer,
    Server,
    backend_stop,
    free_port,
    migrated_database,
)
from .client import Client, PollClient, log_in

CLUSTER_DIR = Path(__file__).resolve().parent
# The stopping workers' grace period, 5 s, is given with each launcher's option.
GRACE_OPTION = {"daphne": "--grace-period", "uvicorn": "--timeout-graceful-shutdown"}
ARTIFACTS = ROOT / "test-artifacts" / "cluster"
NGINX = shutil.which("nginx") or (
    "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
)


def _why_not() -> str | None:
    if urlsplit(os.environ.get("DATABASE_URL", "")).scheme not in (
        "postgres",
        "postgresql",
    ):
        return "multi-worker tests need PostgreSQL: set DATABASE_URL (.ci/run does)"
    if shutil.which("redis-server") is None:
        return "multi-worker tests need redis-server on PATH"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    reason = _why_not()
    if reason is None:
        return
    for item in items:
        if CLUSTER_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="package")
def cluster_database() -> Iterator[str]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with migrated_database("cluster") as url:
        yield url


@dataclass
class Cluster:
    """Workers sharing one database and one private Redis."""

    name: str
    env: dict[str, str]
    redis: RedisServer
    workers: list[Server] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def backend(self) -> Backend:
        return Backend(self.env)

    def add_worker(
        self, server: str = "daphne", *args: str, **extra_env: str
    ) -> Server:
        """Start one more worker: `server` is "daphne" or "uvicorn", `args` more
        options for it."""
        index = len(self.workers)
        env = {**self.env, "CHAT_WORKER_NAME": f"w{index}", **extra_env}
        log = ARTIFACTS / f"{self.name}-w{index}-{RUN_ID}.log"
        grace = GRACE_OPTION[server], "5"
        worker = Server(env, free_port(), log, *grace, *args, server=server)
        worker.start()
        self.workers.append(worker)
        return worker

    def users(self, *prefixes: str) -> list[str]:
        return self.backend.users(*prefixes)

    def cookie(self, username: str) -> str:
        if username not in self.cookies:
            self.cookies[username] = log_in(self.workers[0].url, username, PASSWORD)
        return self.cookies[username]

    async def client(self, username: str, worker: int | str = 0) -> Client:
        """A socket for `username` on worker number `worker` (or a ws:// URL)."""
        url = worker if isinstance(worker, str) else self.workers[worker].ws_url
        client = await Client.open(url, self.cookie(username), username)
        self.clients.append(client)
        return client

    async def poll_client(self, username: str, worker: int | str = 0) -> PollClient:
        """A long-poll session for `username` on worker number `worker` (or a
        base http:// URL, such as nginx's)."""
        url = worker if isinstance(worker, str) else self.workers[worker].url
        client = await PollClient.open(url, self.cookie(username), username)
        self.clients.append(client)
        return client

    async def sigterm(self, worker: int, sockets: list[Client]) -> float:
        """SIGTERM to worker number `worker`: each of `sockets` (on it) must be
        closed with 1012 and the process exit with status 0; the seconds it took."""
        stopping = self.workers[worker]
        started = time.monotonic()
        stopping.proc.send_signal(signal.SIGTERM)
        for socket in sockets:
            assert await socket.closed(timeout=5) == 1012
        await asyncio.to_thread(stopping.proc.wait, 10)
        assert stopping.proc.returncode == 0
        return time.monotonic() - started

    def stop(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.redis.kill()
        backend_stop(self.env)


@pytest.fixture
def make_cluster(cluster_database: str) -> Iterator:
    """make_cluster(workers=2, **env) -> Cluster, torn down after the test."""
    made: list[Cluster] = []

    def make(workers: int = 2, **extra_env: str) -> Cluster:
        name = f"c{len(made)}{os.urandom(2).hex()}"
        redis = RedisServer(ARTIFACTS / f"{name}-redis-{RUN_ID}.log")
        redis.start()
        env = {
            **os.environ,
            "DATABASE_URL": cluster_database,
            "REDIS_URL": redis.url,
            "DEBUG": "true",
            "PYTHONUNBUFFERED": "1",
            "CHAT_RATE_MESSAGES_PER_SECOND": "200",
            "CHAT_RATE_MESSAGES_BURST": "400",
            **extra_env,
        }
        cluster = Cluster(name, env, redis)
        made.append(cluster)
        for _ in range(workers):
            cluster.add_worker()
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


@pytest_asyncio.fixture
async def close_clients() -> AsyncIterator[list[Client]]:
    """Clients appended here are closed after the test."""
    clients: list[Client] = []
    yield clients
    for client in clients:
        if client.is_open:
            await client.close()


# --- nginx ---------------------------------------------------------------------------


class Nginx:
    """nginx with deploy/nginx/chat.conf, its upstreams pointed at the workers."""

    def __init__(self, workers: list[Server]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/chat/"
        self.dir = ARTIFACTS / f"nginx-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        site = (ROOT / "deploy" / "nginx" / "chat.conf").read_text()
        upstreams = "".join(f"    server 127.0.0.1:{w.port};\n" for w in workers)
        upstream_lines = r"(    server 127\.0\.0\.1:\d+;[^\n]*\n)+"
        site = re.sub(upstream_lines, upstreams, site)
        site = re.sub(r"listen 80;", f"listen 127.0.0.1:{self.port};", site)
        # collectstatic's output in production; the sources do under DEBUG.
        site = site.replace("/srv/chat/staticfiles/", f"{ROOT}/static/")
        (self.dir / "site.conf").write_text(site)
        (self.dir / "nginx.conf").write_text(
            f"pid {self.dir}/nginx.pid;\n"
            f"error_log {self.dir}/error.log;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"  access_log {self.dir}/access.log;\n"
            f"  client_body_temp_path {self.dir}/body;\n"
            f"  proxy_temp_path {self.dir}/proxy;\n"
            f"  include {self.dir}/site.conf;\n"
            "}\n"
        )
        self.proc = subprocess.Popen(
            [NGINX, "-c", str(self.dir / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "stderr.log").open("wb"),
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
