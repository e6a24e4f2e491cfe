"""What the real servers do before the application sees a frame: the launchers
(python -m chatproject.server for daphne, chatproject.uvicorn_server) on a database
of their own (SQLite unless DATABASE_URL names PostgreSQL), one of each for the
module, no Redis and no browser, so these run in the default suite."""

import asyncio
import os
import re
import urllib.request
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .cluster.client import log_in
from .servers import (
    PASSWORD,
    ROOT,
    RUN_ID,
    Backend,
    Server,
    free_port,
    migrated_database,
)

ARTIFACTS = ROOT / "test-artifacts" / "servers"


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Server]]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with migrated_database("servers") as url:
        env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
        env["CHAT_GC_EVERY"] = "1"  # test_closed_connections_are_collected...
        env.pop("REDIS_URL", None)
        started: dict[str, Server] = {}
        try:
            for kind in ("daphne", "uvicorn"):
                log = ARTIFACTS / f"{kind}-{RUN_ID}.log"
                started[kind] = Server(env, free_port(), log, server=kind)
                started[kind].start()
            yield started
        finally:
            for server in started.values():
                server.kill()


@pytest.fixture(scope="module")
def cookie(servers: dict[str, Server]) -> str:
    """A logged-in member's session cookie (the servers share the database)."""
    daphne = servers["daphne"]
    [name] = Backend(daphne.env).users("big")
    return log_in(daphne.url, name, PASSWORD)


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
@pytest.mark.parametrize(
    "size",
    [
        100 * 1024,  # over CHAT_MAX_FRAME_BYTES: the application closes it
        3 * 2**19,  # 1.5 MiB, over the server's own limit: the server does
    ],
)
async def test_a_frame_too_big_closes_with_1009(servers, cookie, kind, size):
    """Both limits answer with a close frame 1009, as PROTOCOL.md says; daphne's
    used to drop the connection (the client saw 1006, and would retry)."""
    server = servers[kind]
    async with connect(
        server.ws_url,
        origin=server.url,
        additional_headers={"Cookie": cookie},
        open_timeout=10,
        close_timeout=5,
    ) as ws:
        welcome = await ws.recv()  # presence_update: the member is in
        assert "presence_update" in welcome
        await ws.send("x" * size)
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
        assert ws.close_code == 1009, (ws.close_code, server.log_tail())


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_only_the_pages_own_origin_opens_a_socket(servers, cookie, kind):
    """The Host header the real server passes on is the site's own origin: the
    browser's page at http://127.0.0.1:PORT connects, one on another port of the
    same host does not."""
    server = servers[kind]
    for origin, accepted in (
        (server.url, True),
        ("http://127.0.0.1:6666", False),
        (server.url.replace("http:", "https:"), False),
    ):
        try:
            async with connect(
                server.ws_url,
                origin=origin,
                additional_headers={"Cookie": cookie},
                open_timeout=10,
            ) as ws:
                assert "presence_update" in await ws.recv()
            opened = True
        except InvalidStatus as refused:
            assert refused.response.status_code == 403
            opened = False
        assert opened is accepted, origin


# The fast paths each launcher must have on (chat.infra.fast.guard): one turned
# off by an upgrade that renamed an internal is logged, and fails here.
FAST_PATHS = {
    "daphne": ("daphne_direct_write", "daphne_close_codes", "daphne_liveness"),
    "uvicorn": ("uvicorn_direct_write",),
}


def fast_paths(server: Server) -> dict[str, float]:
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        page = response.read().decode()
    return {
        name: float(value)
        for name, value in re.findall(
            r'^chat_fast_path\{path="(\w+)"\} (\S+)$', page, re.M
        )
    }


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_the_fast_paths_are_on_after_a_socket_has_had_a_frame(
    servers, cookie, kind
):
    """Every fast path of the server is in use once a socket is open and has had a
    frame: the installed daphne, autobahn, Twisted, uvicorn and websockets still
    have every internal the paths use, on their classes and on a live socket."""
    server = servers[kind]
    async with connect(
        server.ws_url,
        origin=server.url,
        additional_headers={"Cookie": cookie},
        open_timeout=10,
    ) as ws:
        assert "presence_update" in await ws.recv()
        assert {
            path: value
            for path, value in fast_paths(server).items()
            if path in FAST_PATHS[kind]
        } == dict.fromkeys(FAST_PATHS[kind], 1.0), server.log_tail()


def gc_figures(server: Server) -> tuple[float, float]:
    """chat_gc_passes_total (all generations) and chat_gc_unreachable_total."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        page = response.read().decode()
    passes = sum(
        float(v) for v in re.findall(r"^chat_gc_passes_total\{.*\} (\S+)$", page, re.M)
    )
    [unreachable] = re.findall(r"^chat_gc_unreachable_total (\S+)$", page, re.M)
    return passes, float(unreachable)


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_closed_connections_are_collected_on_the_clock(servers, cookie, kind):
    """A closed connection's objects are garbage in reference cycles, and the
    launchers slow the collector down (for latency): the worker collects on a clock
    (CHAT_GC_EVERY, 1 s here) while it has sockets. Before, 260 closed connections'
    objects waited 10 minutes for a collection in a churn soak."""
    server = servers[kind]
    headers = {"Cookie": cookie}
    options = {"origin": server.url, "additional_headers": headers}
    async with connect(server.ws_url, **options) as keeper:
        await keeper.recv()
        # Counted from before the five: on a slow machine a pass comes while
        # they are still opening and closing.
        passes, unreachable = gc_figures(server)
        for _ in range(5):
            async with connect(server.ws_url, **options) as ws:
                await ws.recv()
        await asyncio.sleep(2.5)
        passes_after, unreachable_after = gc_figures(server)
    assert passes_after >= passes + 2
    # Each closed connection leaves dozens of objects in cycles.
    assert unreachable_after >= unreachable + 5 * 20
