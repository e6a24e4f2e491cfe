"""Calls that arrive while one is under way wait, then go together.

Under load a worker has many sockets asking the same service (Redis, the
database) for the same kind of thing at once. One round trip per request costs a
round trip's CPU each time; here the requests that pile up while a round trip is
in flight go together in the next one. A quiet worker still sends each request
at once, so nothing waits for a timer.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """`submit(item)` resolves to `run(batch)[i]` for the item's place i in its
    batch; if `run` raises, every item of that batch gets the exception.

    Items go in the order they were submitted, at most `max_size` per call to
    `run`, one call at a time. Bound to the event loop it is first used on."""

    def __init__(
        self, run: Callable[[list[T]], Awaitable[list[R]]], max_size: int = 500
    ) -> None:
        self.run = run
        self.max_size = max_size
        self.waiting: list[tuple[T, asyncio.Future[R]]] = []
        self.task: asyncio.Task | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain())
        return await future

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _drain(self) -> None:
        while self.waiting:
            batch = self.waiting[: self.max_size]
            del self.waiting[: self.max_size]
            try:
                results = await self.run([item for item, _ in batch])
            except BaseException as error:
                if isinstance(error, asyncio.CancelledError):
                    batch += self.waiting
                    self.waiting = []
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
