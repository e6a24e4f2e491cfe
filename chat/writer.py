"""This worker's message writer: room messages are stored in batches.

Each send used to cost a database thread, a transaction and several ORM queries
(about 4 ms of CPU: docs/BENCHMARKS.md). Here the sends of every socket of the
event loop wait in one queue; while a batch is being written the next one fills
up, so a quiet worker writes each message at once and a busy one writes many per
round trip (`services.messages_send_many`: one statement on PostgreSQL). A send
is answered only once its message is stored and its broadcast published, as
before.
"""

import asyncio
import weakref
from typing import Any

from . import events, services, worker
from .errors import ChatError

BATCH_MAX = 200  # drafts per statement: bounds a statement's time and size


class _Writer:
    def __init__(self) -> None:
        self.waiting: list[tuple[services.Draft, asyncio.Future]] = []
        self.task: asyncio.Task | None = None

    async def send(self, draft: services.Draft) -> services.SentMessage:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((draft, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.write_waiting())
        result = await future
        if isinstance(result, ChatError):
            raise result
        return result

    async def write_waiting(self) -> None:
        while self.waiting:
            batch = self.waiting[:BATCH_MAX]
            del self.waiting[:BATCH_MAX]
            try:
                results = await _write([draft for draft, _ in batch])
            except BaseException as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


async def _write(
    drafts: list[services.Draft],
) -> list[services.SentMessage | ChatError]:
    store = worker.in_db_thread(events.collecting(services.messages_send_many))
    results, broadcasts = await store(drafts)
    await events.send(broadcasts)
    return results


_writers: weakref.WeakKeyDictionary[Any, _Writer] = weakref.WeakKeyDictionary()


async def message_send(draft: services.Draft) -> services.SentMessage:
    """Store `draft` with the next batch and broadcast it; as services.message_send."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = _Writer()
    return await writer.send(draft)
