"""A Redis connection kept for one hot path: a batch of commands goes out in one
write and the replies come back in order.

redis-py's Pipeline checks a connection out of the pool for every batch, polls it
for stray data under a zero timeout, wraps the round trip in its retry helper and,
when the batch runs a script, asks SCRIPT EXISTS first: a second round trip and
more of a worker's core than the commands themselves (docs/BENCHMARKS.md). Here one
connection stays checked out; a failure drops it, as does the server closing it
while it was idle, and the next batch opens another.
The connection is redis-py's own, so the URL's options (password, database, TLS,
timeouts) apply as everywhere else.

It leans on redis-py's connection below its documented API (checked by
chat.infra.fast.guard, on the class at start-up and on the first connection):
if an upgrade renames any of it, every batch goes through redis-py's own Pipeline
instead, with the same replies.
"""

import inspect
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ResponseError

from chat.infra.fast import guard

Command = tuple[Any, ...]

PIPE = guard.FastPath(
    "redis_pipe", ("redis",), "batches go through redis-py's Pipeline"
)
# redis.asyncio's AbstractConnection, and the keyword arguments given to two of it.
CONNECTION = ("send_packed_command", "pack_commands", "read_response", "disconnect")
CONNECTION_KEYWORDS = (
    ("send_packed_command", "check_health"),
    ("disconnect", "nowait"),
)
CONNECTION_LIVE = ("_reader",)  # redis-py's stream reader, set per connection
POOL = ("get_connection", "release")


def check() -> bool:
    """Whether redis-py's classes have what RedisPipe uses (the first connection
    is checked in use)."""
    if PIPE.state != guard.UNCHECKED:
        return not PIPE.off
    if not (
        PIPE.require(AbstractConnection, "AbstractConnection", CONNECTION)
        and PIPE.require(ConnectionPool, "ConnectionPool", POOL)
    ):
        return False
    for method, keyword in CONNECTION_KEYWORDS:
        parameters = inspect.signature(getattr(AbstractConnection, method)).parameters
        if keyword not in parameters:
            PIPE.turn_off(f"AbstractConnection.{method}({keyword}=)")
            return False
    PIPE.ready()
    return True


class RedisPipe:
    """Callers send one batch at a time (chat.infra.fast.batching.Batcher does)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.connection: AbstractConnection | None = None

    async def execute(self, commands: list[Command]) -> list[Any]:
        """Each command's reply, or the ResponseError Redis answered it with;
        raises (ConnectionError, TimeoutError) when the round trip fails."""
        if PIPE.off or not check():
            return await self._execute_stock(commands)
        connection = self.connection
        if connection is not None and _closed_by_server(connection):
            # Redis restarted (or dropped us) while the connection sat idle: a new
            # one, rather than a failed batch. The event loop has already read the
            # end of the stream, so asking costs nothing.
            self.connection = None
            await connection.disconnect(nowait=True)
            await self.pool.release(connection)
            connection = None
        if connection is None:
            connection = self.connection = await self.pool.get_connection()
            if PIPE.state != guard.ON:
                if not PIPE.require(connection, "Connection", CONNECTION_LIVE):
                    self.connection = None
                    await self.pool.release(connection)
                    return await self._execute_stock(commands)
                PIPE.confirm()
        try:
            await connection.send_packed_command(
                connection.pack_commands(commands), check_health=False
            )
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except ResponseError as error:  # this reply only; the rest follow
                    replies.append(error)
            return replies
        except BaseException:
            # Replies may be left unread: the connection cannot be trusted again.
            self.connection = None
            await connection.disconnect(nowait=True)
            await self.pool.release(connection)
            raise

    async def _execute_stock(self, commands: list[Command]) -> list[Any]:
        pipeline = Redis(connection_pool=self.pool).pipeline(transaction=False)
        for command in commands:
            pipeline.execute_command(*command)
        return await pipeline.execute(raise_on_error=False)

    async def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            await self.pool.release(connection)


def _closed_by_server(connection: AbstractConnection) -> bool:
    reader = getattr(connection, "_reader", None)  # redis-py's stream reader
    return reader is None or reader.at_eof()
