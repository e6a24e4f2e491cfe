"""This worker's message writer: room messages are stored in batches.

Each send used to cost a database thread, a transaction and several ORM queries
(about 4 ms of CPU: docs/BENCHMARKS.md). Here the sends of every socket of the
event loop wait in one queue; while a batch is being written the next one fills
up, so a quiet worker writes each message at once and a busy one writes many per
round trip (`services.messages_send_many`: one statement on PostgreSQL). A send
is answered only once its message is stored and its broadcast published, or the
publish failed or ran out of time (chat.infra.worker.send_committed): the reply then
still says stored, which it is.
"""

import asyncio
import weakref
from typing import Any

from chat.domain import events, services
from chat.domain.errors import ChatError
from chat.infra import worker
from chat.infra.fast.batching import Batcher

BATCH_MAX = 200  # drafts per statement: bounds a statement's time and size

Result = services.SentMessage | ChatError


async def _write(drafts: list[services.Draft]) -> list[Result]:
    if not worker.layer_is_up():
        # The layer failed while these waited for their batch (the one before may
        # have found it so): refused now, nothing stored, a retry is safe.
        return [worker.unavailable() for _ in drafts]
    store = worker.in_db_thread(events.collecting(services.messages_send_many))
    results, broadcasts = await store(drafts)
    await worker.send_committed(broadcasts)
    return results


_writers: weakref.WeakKeyDictionary[Any, Batcher[services.Draft, Result]] = (
    weakref.WeakKeyDictionary()
)


async def message_send(draft: services.Draft) -> services.SentMessage:
    """Store `draft` with the next batch and broadcast it; as services.message_send."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = Batcher(_write, BATCH_MAX)
    result = await writer.submit(draft)
    if isinstance(result, ChatError):
        raise result
    return result
