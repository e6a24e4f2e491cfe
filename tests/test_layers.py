"""The Redis layer's per-socket channel queue (chat.infra.fast.layers): what the
layer asks of
asyncio.Queue, in order, and never losing a message to a cancelled reader."""

import asyncio

from chat.infra.fast.layers import _ChannelQueue


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
