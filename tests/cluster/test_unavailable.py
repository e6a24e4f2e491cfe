"""`unavailable` says nothing was stored, and it says so within 2 s, whether Redis
dies or hangs at the moment of a send (docs/PROTOCOL.md, "Error codes")."""

import asyncio
import os
import signal
import time
from typing import Any

from .client import Client, ErrorReply

ANSWER_WITHIN = 2.0  # seconds, while Redis hangs


async def send(client: Client, room: str, cid: str) -> tuple[str, dict[str, Any]]:
    """("delivered" or an error code, the reply's data); "no reply" if the socket
    closed first."""
    try:
        reply = await client.request(
            "send_message", {"room": room, "message": cid, "clientId": cid}, 15
        )
    except ErrorReply as error:
        return error.code, error.data
    except (ConnectionError, TimeoutError) as error:
        return "no reply", {"error": repr(error)}
    return reply["status"], reply


def stored(cluster, cids: list[str]) -> dict[str, int]:
    """How many messages each clientId has in the database."""
    counts = cluster.backend.run(
        "from chat.models import Message\n"
        "result = {c: Message.objects.filter(client_id=c).count()"
        " for c in data['cids']}\n",
        cids=cids,
    )
    return counts


async def delivered_after_retries(client: Client, room: str, cid: str) -> dict:
    """Send `cid` again (the same clientId) until it is acknowledged."""
    deadline = time.monotonic() + 20
    while True:
        outcome, data = await send(client, room, cid)
        if outcome == "delivered":
            return data
        assert outcome == "unavailable" and time.monotonic() < deadline, data
        await asyncio.sleep(data["retryAfter"])


def drain(client: Client) -> list[dict[str, Any]]:
    frames = []
    while not client.events.empty():
        frames.append(client.events.get_nowait())
    return frames


async def test_a_hung_redis_gets_a_true_answer_within_2_s(make_cluster, close_clients):
    """Sends go on from four sockets while Redis is stopped (SIGSTOP): some are
    past the rate limit and stored, their broadcast stuck; the rest are not yet."""
    cluster = make_cluster(workers=2)
    names = cluster.users("ana", "ben")
    room = f"hang-{cluster.name}"
    senders = [await cluster.client(name, w) for name in names for w in (0, 1)]
    listener = await cluster.client(cluster.users("cat")[0], 1)
    close_clients.extend([*senders, listener])
    for client in (*senders, listener):
        await client.request("join_room", {"room": room})

    outcomes: dict[str, str] = {}
    began: dict[str, float] = {}
    took: dict[str, float] = {}

    async def keep_sending(index: int, client: Client, until: float) -> None:
        number = 0
        while time.monotonic() < until:
            cid = f"h{index}-{number}"
            number += 1
            began[cid] = time.monotonic()
            outcomes[cid], _ = await send(client, room, cid)
            took[cid] = round(time.monotonic() - began[cid], 2)
            await asyncio.sleep(0.005)

    until = time.monotonic() + 3
    sending = [
        asyncio.create_task(keep_sending(i, c, until)) for i, c in enumerate(senders)
    ]
    await asyncio.sleep(0.7)
    os.kill(cluster.redis.proc.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        await asyncio.gather(*sending)
    finally:
        os.kill(cluster.redis.proc.pid, signal.SIGCONT)
    summary: dict[str, int] = {}
    for cid, outcome in outcomes.items():
        when = "during" if began[cid] >= stopped else "before"
        summary[f"{outcome} {when}"] = summary.get(f"{outcome} {when}", 0) + 1
    slowest = sorted(took.values())[-3:]
    print(
        f"Redis hung {until - stopped:.1f} s amid {len(outcomes)} sends: {summary};"
        f" slowest answers {slowest} s"
    )
    assert set(outcomes.values()) <= {"delivered", "unavailable"}, summary
    assert "unavailable" in outcomes.values()  # the stop landed amid the sends
    assert max(took.values()) < ANSWER_WITHIN, slowest

    # Once Redis answers again, whatever was still on its way has arrived: a send
    # acknowledged now reaches the listener after it.
    await delivered_after_retries(senders[0], room, "after")
    await listener.event("receive_message", clientId="after")
    await asyncio.sleep(1)
    heard = [
        f["data"]["clientId"]
        for f in drain(listener)
        if f["event"] == "receive_message"
    ]
    counts = stored(cluster, list(outcomes))
    for cid, outcome in outcomes.items():
        if outcome == "unavailable":
            assert counts[cid] == 0, f"{cid} was answered unavailable, yet stored"
            assert cid not in heard, f"{cid} was answered unavailable, yet delivered"
        else:
            assert counts[cid] == 1, (cid, counts[cid])
    assert len(heard) == len(set(heard)), "a message was delivered twice"

    # A retry with the same clientId is always safe: each is stored exactly once.
    refused = [
        c for c, o in outcomes.items() if o == "unavailable" and c.startswith("h0-")
    ][:5]
    for cid in refused:
        await delivered_after_retries(senders[0], room, cid)
    assert stored(cluster, refused) == dict.fromkeys(refused, 1)


async def test_redis_killed_amid_sends_unavailable_means_not_stored(
    make_cluster, close_clients
):
    cluster = make_cluster(workers=2)
    names = cluster.users("ana", "ben", "cat")
    room = f"kill-{cluster.name}"
    clients = [await cluster.client(name, w) for name in names for w in (0, 1)]
    close_clients.extend(clients)
    for client in clients:
        await client.request("join_room", {"room": room})

    outcomes: dict[str, str] = {}
    replies: dict[str, dict[str, Any]] = {}

    async def keep_sending(index: int, client: Client, until: float) -> None:
        number = 0
        while time.monotonic() < until:
            cid = f"k{index}-{number}"
            number += 1
            outcomes[cid], replies[cid] = await send(client, room, cid)
            await asyncio.sleep(0.005)

    until = time.monotonic() + 1.5
    senders = [
        asyncio.create_task(keep_sending(i, c, until)) for i, c in enumerate(clients)
    ]
    await asyncio.sleep(0.7)
    cluster.redis.kill()
    await asyncio.gather(*senders)
    counts = stored(cluster, list(outcomes))
    summary: dict[str, int] = {}
    for outcome in outcomes.values():
        summary[outcome] = summary.get(outcome, 0) + 1
    print(f"Redis killed amid {len(outcomes)} sends: {summary}")
    assert summary.get("unavailable", 0) > 0  # the kill landed amid the sends
    lies = [c for c, o in outcomes.items() if o == "unavailable" and counts[c]]
    assert not lies, f"answered unavailable, yet stored: {lies}"
    for cid, outcome in outcomes.items():
        if outcome == "delivered":
            assert counts[cid] == 1, (cid, replies[cid])
