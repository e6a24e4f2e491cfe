"""Clients on different workers see each other: the whole protocol crosses
processes through PostgreSQL and Redis, and through nginx when it is installed."""

import asyncio
import json
import re
import urllib.error

import pytest

from .client import Client, http_get
from .conftest import NGINX, Nginx


async def test_everything_crosses_workers(make_cluster, close_clients):
    cluster = make_cluster(workers=3)
    owner, ana, ben = cluster.users("own", "ana", "ben")
    # One user per worker.
    o = await cluster.client(owner, 0)
    a = await cluster.client(ana, 1)
    b = await cluster.client(ben, 2)
    close_clients.extend([o, a, b])

    # Presence: each sees the others come online, whichever worker they are on.
    await o.event("presence_update")
    for client in (o, a, b):
        await until_online(client, {owner, ana, ben})

    room = f"lobby-{cluster.name}"
    assert (await o.request("join_room", {"room": room}))["users"] == [owner]
    await a.request("join_room", {"room": room})
    joined_b = await b.request("join_room", {"room": room})
    assert joined_b["users"] == sorted([owner, ana, ben])
    await o.event("user_joined", room=room, username=ben)
    await a.event("room_users", room=room, users=sorted([owner, ana, ben]))

    # A room message, stored once, delivered to every worker.
    sent = await a.request(
        "send_message", {"room": room, "message": "from w1", "clientId": "m-1"}
    )
    for client in (o, a, b):
        got = await client.event("receive_message", room=room)
        assert (got["id"], got["message"], got["username"]) == (
            sent["messageId"],
            "from w1",
            ana,
        )

    # Typing goes to the others, not the typer.
    await b.request("typing", {"room": room, "isTyping": True})
    for client in (o, a):
        await client.event("user_typing", room=room, username=ben, isTyping=True)

    # A direct message reaches the recipient's worker, and the sender's.
    dm = await a.request("private_message", {"toUsername": ben, "message": "psst"})
    got = await b.event("private_message", id=dm["messageId"])
    assert (got["from"], got["message"], got["isSelf"]) == (ana, "psst", False)
    assert (await a.event("private_message", id=dm["messageId"]))["isSelf"] is True

    # Edits and deletions.
    await a.request("edit_message", {"id": sent["messageId"], "message": "edited"})
    for client in (o, b):
        got = await client.event("message_edited", id=sent["messageId"])
        assert got["message"] == "edited"
    await a.request("delete_message", {"id": sent["messageId"]})
    for client in (o, b):
        await client.event("message_deleted", id=sent["messageId"])

    # A moderation kick from worker 0 reaches ben on worker 2; the others see him
    # leave the room, and he no longer gets its messages.
    await o.request("kick_user", {"room": room, "username": ben, "reason": "test"})
    kicked = await b.event("kicked")
    assert (kicked["room"], kicked["reason"]) == (room, "test")
    await a.event("room_users", room=room, users=sorted([owner, ana]))
    await o.request("send_message", {"room": room, "message": "after the kick"})
    await a.event("receive_message", message="after the kick")
    with pytest.raises(TimeoutError):
        await b.event("receive_message", timeout=1)

    # Closing the last socket of a user takes them offline everywhere.
    await a.close()
    await until_online(o, {owner, ben})
    await until_online(b, {owner, ben})


# Every fast path a worker on Redis runs (chat.infra.fast.guard).
FAST_PATHS = {
    "daphne": {"daphne_direct_write", "daphne_close_codes", "daphne_liveness"},
    "uvicorn": {"uvicorn_direct_write"},
}


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_every_fast_path_is_on_across_workers(
    make_cluster, close_clients, server
):
    """Once a message has crossed two workers, every fast path, the channel
    layer's and the kept Redis connection's too, is in use on both: the installed
    packages still have every internal they use."""
    cluster = make_cluster(workers=0)
    for _ in range(2):
        cluster.add_worker(server=server)
    ana, ben = cluster.users("ana", "ben")
    a, b = await cluster.client(ana, 0), await cluster.client(ben, 1)
    close_clients.extend([a, b])
    room = f"fast-{cluster.name}"
    await a.request("join_room", {"room": room})
    await b.request("join_room", {"room": room})
    await b.request("send_message", {"room": room, "message": "across"})
    await a.event("receive_message", room=room, message="across")
    expected = FAST_PATHS[server] | {"layer_fan_out", "redis_pipe"}
    for worker in cluster.workers:
        status, body = await asyncio.to_thread(http_get, worker.url + "/metrics")
        assert status == 200
        paths = re.findall(
            r'^chat_fast_path\{path="(\w+)"\} (\S+)$', body.decode(), re.M
        )
        assert dict(paths) == dict.fromkeys(expected, "1.0"), worker.log_tail()


async def until_online(client: Client, users: set[str]) -> None:
    while set((await client.event("presence_update"))["online"]) != users:
        pass


@pytest.mark.skipif(NGINX is None, reason="no nginx (apt-get install nginx)")
async def test_through_nginx(make_cluster, close_clients):
    cluster = make_cluster(workers=2)
    nginx = Nginx(cluster.workers)
    try:
        await _through_nginx(cluster, nginx, close_clients)
    finally:
        nginx.stop()


async def _through_nginx(cluster, nginx: Nginx, close_clients: list) -> None:
    ana, ben = cluster.users("ana", "ben")
    # Requests spread over both workers (least_conn: none holds a socket yet).
    workers = set()
    for _ in range(6):
        health = await wait_for_health(nginx.url)
        assert health["status"] == "ok"
        workers.add(health["worker"])
    assert workers == {"w0", "w1"}
    # nginx passes /metrics from this host only; the page names its worker.
    status, body = await asyncio.to_thread(http_get, nginx.url + "/metrics")
    assert status == 200 and b'chat_worker_info{worker="w' in body
    # Static files straight from nginx.
    status, body = await asyncio.to_thread(
        http_get, nginx.url + "/static/chat/actions/sync.js"
    )
    assert status == 200 and b"synchronise" in body

    # Sockets through nginx, and one straight on a worker, share a room.
    room = f"via-nginx-{cluster.name}"
    a = await cluster.client(ana, nginx.ws_url)
    b = await cluster.client(ben, 1)
    close_clients.extend([a, b])
    await a.request("join_room", {"room": room})
    await b.request("join_room", {"room": room})
    sent = await b.request("send_message", {"room": room, "message": "hi nginx"})
    got = await a.event("receive_message", id=sent["messageId"])
    assert got["message"] == "hi nginx"


async def wait_for_health(url: str) -> dict:
    for _ in range(100):
        try:
            status, body = await asyncio.to_thread(http_get, url + "/healthz")
        except (urllib.error.URLError, ConnectionError):
            status, body = 0, b""
        if status in (200, 503):
            return json.loads(body)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url}/healthz never answered")
