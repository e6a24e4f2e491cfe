"""A member who reads slowly still gets every message, whole and in order.

Broadcasts are written straight to each member's socket (chat.wire); when the
socket cannot take a whole frame, the rest waits in the server's own buffer and
later frames queue behind it. Here one member stops reading while several
megabytes of messages go out, past what the kernel buffers hold (on daphne about
200 frames waited in the worker, one sent in part, when this was written), then
reads everything at once."""

import pytest

MESSAGES = 700
BODY = "é" * 3990  # about 8,000 bytes of UTF-8: near the longest message there is


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_slow_reader_gets_every_message_whole_and_in_order(
    make_cluster, close_clients, server
):
    cluster = make_cluster(workers=0)
    cluster.add_worker(server=server)
    ana, ben = cluster.users("ana", "ben")
    sender = await cluster.client(ana, 0)
    reader = await cluster.client(ben, 0)
    close_clients.extend([sender, reader])
    room = f"slow-{cluster.name}"
    await sender.request("join_room", {"room": room})
    joined = await reader.request("join_room", {"room": room})

    # The reader stops reading: the kernel's buffers fill, and frames back up in
    # the worker.
    transport = reader.ws.transport
    transport.pause_reading()
    seqs = []
    for n in range(MESSAGES):
        sent = await sender.request(
            "send_message", {"room": room, "message": f"{n} {BODY}"}
        )
        seqs.append(sent["seq"])
    transport.resume_reading()

    got = [await reader.event("receive_message", timeout=30) for _ in seqs]
    assert [m["seq"] for m in got] == seqs == sorted(seqs)
    assert seqs[0] > joined["seq"]
    assert [m["message"] for m in got] == [f"{n} {BODY}" for n in range(MESSAGES)]
