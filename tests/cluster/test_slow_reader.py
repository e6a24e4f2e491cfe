"""A client that does not read costs the worker a bounded amount of memory, and
loses nothing by it.

Frames the kernel will not take for a socket wait in the worker
(chat.infra.fast.wire). Past
CHAT_MAX_SOCKET_BUFFER (1 MiB by default) the socket is closed with 1013: its
client reconnects and resyncs from the last seq it holds, and gets every message
once, in order. A client that sends but never reads is judged by its pongs."""

import asyncio
import json
from pathlib import Path

import pytest
from websockets.frames import Frame, Opcode

MESSAGES = 700
UNMETERED = {
    "CHAT_RATE_REQUESTS_PER_SECOND": "1000",
    "CHAT_RATE_REQUESTS_BURST": "2000",
}
BODY = "é" * 3990  # about 8,000 bytes of UTF-8: near the longest message there is
MIB = 1024 * 1024


def masked_frame(data: dict) -> bytes:
    """`data` as a client's text frame, to write to the socket directly."""
    frame = Frame(Opcode.TEXT, json.dumps(data).encode())
    return frame.serialize(mask=True, extensions=[])


def rss(pid: int) -> int:
    """The process's resident memory, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def drain(client, name: str) -> list[dict]:
    """Every `name` event the client read before its socket closed."""
    got = []
    while True:
        frame = await asyncio.wait_for(client.events.get(), 30)
        if frame["event"] == "_closed":
            return got
        if frame["event"] == name:
            got.append(frame["data"])


async def resync(client, room: str, after: int) -> list[dict]:
    """What join_room {after} gives, page by page, as the web client asks."""
    changes = []
    while True:
        joined = await client.request("join_room", {"room": room, "after": after})
        changes.extend(joined["history"])
        after = joined["seq"]
        if not joined["hasMore"]:
            return changes


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_reader_that_falls_behind_is_closed_and_resyncs_everything(
    make_cluster, close_clients, server
):
    cluster = make_cluster(workers=0)
    # Hundreds of sends in a few seconds: past the default request budget (50/s,
    # burst 600), which this test is not about (a fast run failed on it).
    worker = cluster.add_worker(server=server, **UNMETERED)
    ana, ben = cluster.users("ana", "ben")
    sender = await cluster.client(ana, 0)
    reader = await cluster.client(ben, 0)
    close_clients.extend([sender, reader])
    room = f"slow-{cluster.name}"
    await sender.request("join_room", {"room": room})
    joined = await reader.request("join_room", {"room": room})

    # The reader stops reading while 5.6 MB go out: past what the kernel's
    # buffers hold, frames back up in the worker, up to the bound.
    reader.ws.transport.pause_reading()
    seqs = []
    for n in range(MESSAGES):
        sent = await sender.request(
            "send_message", {"room": room, "message": f"{n} {BODY}"}
        )
        seqs.append(sent["seq"])
    reader.ws.transport.resume_reading()

    # It gets what was queued before the bound, in order, then the close.
    live = await drain(reader, "receive_message")
    assert reader.close_code in (1013, 1006)  # 1006: it read too late to see it
    assert "closed with 1013" in worker.log_tail(200)
    assert len(live) < MESSAGES
    assert [m["seq"] for m in live] == seqs[: len(live)]

    # Reconnected, it resyncs from the last seq it holds: nothing lost or twice.
    again = await cluster.client(ben, 0)
    close_clients.append(again)
    held = live[-1]["seq"] if live else joined["seq"]
    missed = await resync(again, room, held)
    got = live + missed
    assert [m["seq"] for m in got] == seqs
    assert [m["message"] for m in got] == [f"{n} {BODY}" for n in range(MESSAGES)]


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_client_asking_for_history_and_never_reading_is_closed(
    make_cluster, close_clients, server
):
    cluster = make_cluster(workers=0)
    # Hundreds of sends in a few seconds: past the default request budget (50/s,
    # burst 600), which this test is not about (a fast run failed on it).
    worker = cluster.add_worker(server=server, **UNMETERED)
    ana, ben = cluster.users("ana", "ben")
    room = cluster.backend.room(ana, f"long-{cluster.name}")
    cluster.backend.run(
        "from django.contrib.auth import get_user_model\n"
        "from chat.domain import services\n"
        "ana = get_user_model().objects.get(username=data['ana'])\n"
        "for n in range(100):\n"
        "    services.message_send(user=ana, room_name=data['room'],"
        " body=f'{n} ' + 'x' * 3990)\n",
        ana=ana,
        room=room,
    )
    hog = await cluster.client(ben, 0)
    member = await cluster.client(ana, 0)
    close_clients.extend([hog, member])
    await member.request("join_room", {"room": room})
    await hog.request("join_room", {"room": room})
    before = rss(worker.proc.pid)

    # Each reply is about 400 KB; 300 of them is 120 MB if nothing stops it.
    # They go in one write, so that the worker reads them all at once (the
    # servers stop reading a socket whose replies back up, a frame at a time).
    hog.ws.transport.pause_reading()
    asks = [
        {"event": "get_history", "data": {"room": room, "limit": 100}, "ack": n}
        for n in range(1000, 1300)
    ]
    hog.ws.transport.write(b"".join(map(masked_frame, asks)))
    # Every request has been read by the worker once the member's ping, sent
    # after them on the same worker, is answered and the history flood is over.
    grew = 0
    for _ in range(20):
        await member.request("ping")
        grew = max(grew, rss(worker.proc.pid) - before)
        await asyncio.sleep(0.25)
    hog.ws.transport.resume_reading()
    assert await hog.closed(timeout=30) in (1013, 1006)
    assert "closed with 1013" in worker.log_tail(200)
    assert grew < 8 * MIB, f"the worker grew by {grew / MIB:.1f} MiB"

    # The member was not held up: a message still goes round at once.
    sent = await member.request("send_message", {"room": room, "message": "still"})
    assert (await member.event("receive_message", seq=sent["seq"]))["message"]


PING_EVERY_SECOND = {
    "daphne": ("--ping-interval", "1", "--ping-timeout", "2"),
    "uvicorn": ("--ws-ping-interval", "1", "--ws-ping-timeout", "2"),
}


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_client_that_sends_but_never_reads_is_dropped_by_its_pongs(
    make_cluster, close_clients, server
):
    cluster = make_cluster(workers=0)
    cluster.add_worker(server, *PING_EVERY_SECOND[server])
    (ana,) = cluster.users("ana")
    client = await cluster.client(ana, 0)
    close_clients.append(client)

    # It never reads, so it never answers the worker's pings; the frames it
    # sends must not count as a sign of life.
    client.ws.transport.pause_reading()
    ping = json.dumps({"event": "ping", "data": {}})
    dropped = False
    for _ in range(60):  # 15 s; the worker should give up after about 3
        try:
            await client.ws.send(ping)
        except Exception:
            dropped = True
            break
        if client.ws.transport.is_closing():
            dropped = True
            break
        await asyncio.sleep(0.25)
    client.ws.transport.resume_reading()
    if not dropped:
        await asyncio.sleep(0.5)
        dropped = not client.is_open
    assert dropped, "a client that never answered a ping kept its socket"
