"""The Redis layer (chat.infra.fast.layers): its per-socket channel queue does
what the layer asks of asyncio.Queue, in order, never losing a message to a
cancelled reader; a closed socket leaves nothing of its channel behind."""

import asyncio

import pytest
from django.conf import settings
from redis import asyncio as aioredis

from chat.infra import presence, worker
from chat.infra.fast.layers import _ChannelQueue
from chat.realtime.session import Session

from .conftest import RUN_PREFIX


async def test_messages_come_out_in_order_and_a_reader_waits_for_them():
    queue = _ChannelQueue()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not reader.done()
    for n in (1, 2, 3):
        queue.put_nowait(n)
    assert await reader == 1
    assert [await queue.get(), await queue.get()] == [2, 3]


async def test_a_reader_cancelled_after_being_woken_leaves_the_message():
    queue = _ChannelQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("order")  # wakes `first`...
    first.cancel()  # ...which goes before taking it
    assert await asyncio.wait_for(second, 1) == "order"


async def socket_channels_in_redis() -> set[str]:
    """The sockets' channels (Channels' "specific.", long-polling's "poll.") that
    this run's Redis has subscribers for."""
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    try:
        names = await client.pubsub_channels(f"{RUN_PREFIX}:layer*")
    finally:
        await client.aclose()
    return {n.decode() for n in names if b"specific." in n or b"poll." in n}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.REDIS_URL, reason="only on the Redis channel layer")
async def test_a_socket_closing_as_a_message_reaches_it_leaves_no_subscription(
    amake_user, sockets, monkeypatch
):
    # channels_redis forgets a channel only when its receive is cancelled; one
    # that had just taken a message when its socket closed stayed subscribed, and
    # queued in the worker, for the worker's life (one closed socket in sixteen in
    # a churn of 2,000: docs/BENCHMARKS.md).
    leave = Session.leave

    async def leave_as_a_message_arrives(session: Session, code: int) -> None:
        layer = worker.channel_layer()
        await layer.send(session.channel_name, {"type": "chat.control", "action": "-"})
        await asyncio.sleep(0.3)  # the transport takes it meanwhile
        await leave(session, code)

    monkeypatch.setattr(Session, "leave", leave_as_a_message_arrives)
    ana = await amake_user("ana")
    before = await socket_channels_in_redis()
    socket = await sockets(ana)
    await socket.join("general")
    its_channels = await socket_channels_in_redis() - before
    assert its_channels

    await socket.close()

    assert not its_channels & await socket_channels_in_redis()
    loop_layer = worker.channel_layer()._get_layer()
    assert not its_channels & set(loop_layer.channels)


@pytest.mark.skipif(not settings.REDIS_URL, reason="presence is in Redis only then")
async def test_a_burst_of_arrivals_opens_a_bounded_number_of_redis_connections():
    # A worker's sockets all coming back at once (a restart elsewhere) each
    # write their presence; redis-py opened a connection per waiting write, and
    # kept them all.
    store = presence.store()
    admin = aioredis.Redis.from_url(settings.REDIS_URL)

    async def connections() -> int:
        clients = await admin.client_list()
        return sum(1 for c in clients if c["name"] == store.prefix)

    try:
        await asyncio.gather(
            *(store.enter("site", f"user{i}", f"channel-{i}") for i in range(200))
        )
        assert 0 < await connections() <= presence.POOL_SIZE
        assert len(await store.members("site")) == 200
    finally:
        await store.close()
        await admin.aclose()
