"""channels_redis' pub/sub layer, made to fan out once per process and to say
when it may have lost messages.

Fan-out. Stock Channels hands every member of a group its own copy of a broadcast:
a msgpack decode, a queue, a task switch and a consumer dispatch per socket
(shared/notes/fanout-floor.md: that, not the server, caps a chat at a few thousand
deliveries a second). Here a socket may `attach` itself to its channel: a group
message is then decoded once per process and handed straight to each attached
member's `deliver`, which writes the frame the sender already encoded. Members
that are not attached, and messages `deliver` declines, take the stock path.

Publishing. channels_redis publishes one message per Redis round trip under a
lock; here the messages waiting for that lock go out together in one write, on a
connection kept for it (chat.infra.fast.redispipe).

Faults. Redis pub/sub keeps nothing for a subscriber that is cut off: whatever is
published while the connection is down is gone, and redis-py reconnects and
re-subscribes without a word (channels_redis removed its on_disconnect /
on_reconnect hooks in 4.0, issue #406). This subclass reports both edges to
`chat.infra.worker`: a failed read marks the layer down, a re-established subscriber
connection makes the worker's sockets resync.

Written against channels-redis 4.3.0 (pinned); the overrides are small and named
after the methods they replace.

Upgrades. `check` looks for every channels_redis and redis-py internal used here
(the launchers run it at start-up). On a miss the worker refuses to start, with an
error naming the attribute; it does not fall back to the stock layer, because the
fault reports above rest on the same internals (_do_receiving, _ensure_redis,
_pubsub): a stock layer would deliver, but after a Redis reconnect its sockets would
not resync, and members would silently miss what was published meanwhile. A worker
that does not start is seen at deploy; lost messages are not. Imports here never
fail on a renamed name, so that the error is that one.
"""

import asyncio
import logging
import weakref
from collections import deque
from typing import Any, Protocol

import channels_redis.pubsub as redis_pubsub
import channels_redis.utils as redis_utils
from django.core.exceptions import ImproperlyConfigured
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub

from chat.infra import worker
from chat.infra.fast import guard
from chat.infra.fast.batching import Batcher
from chat.infra.fast.redispipe import RedisPipe

logger = logging.getLogger(__name__)

LAYER = guard.FastPath(
    "layer_fan_out",
    ("channels-redis", "redis"),
    "the worker does not start (see chat.infra.fast.layers)",
)
# What the subclasses use of channels_redis and redis-py that is not their API.
PUBSUB_MODULE = (
    "RedisPubSubChannelLayer",
    "RedisPubSubLoopLayer",
    "RedisSingleShardConnection",
)
UTILS_MODULE = ("_wrap_close", "create_pool", "decode_hosts")
CHANNEL_LAYER = ("_get_layer", "serialize", "deserialize")
CHANNEL_LAYER_LIVE = ("_layers", "_args", "_kwargs")
LOOP_LAYER = ("_subscribe_to_channel", "_get_shard", "flush")
LOOP_LAYER_LIVE = ("channels", "groups", "_shards", "channel_layer")
SHARD = (
    "publish",
    "subscribe",
    "unsubscribe",
    "flush",
    "_do_receiving",
    "_ensure_redis",
)
SHARD_LIVE = ("host", "channel_layer", "_lock", "_redis", "_pubsub")
PUBSUB = ("on_connect", "get_message", "subscribed")

# Named here, not imported by name, so that a rename reaches `check`.
RedisPubSubChannelLayer = getattr(redis_pubsub, "RedisPubSubChannelLayer", object)
RedisPubSubLoopLayer = getattr(redis_pubsub, "RedisPubSubLoopLayer", object)
RedisSingleShardConnection = getattr(redis_pubsub, "RedisSingleShardConnection", object)


def check() -> bool:
    """Whether channels_redis and redis-py have everything the layer uses: on
    their classes, and on instances made here without connecting."""
    if LAYER.state != guard.UNCHECKED:
        return not LAYER.off
    if not (
        LAYER.require(redis_pubsub, "channels_redis.pubsub", PUBSUB_MODULE)
        and LAYER.require(redis_utils, "channels_redis.utils", UTILS_MODULE)
        and LAYER.require(
            RedisPubSubChannelLayer, "RedisPubSubChannelLayer", CHANNEL_LAYER
        )
        and LAYER.require(RedisPubSubLoopLayer, "RedisPubSubLoopLayer", LOOP_LAYER)
        and LAYER.require(
            RedisSingleShardConnection, "RedisSingleShardConnection", SHARD
        )
        and LAYER.require(PubSub, "redis.asyncio.client.PubSub", PUBSUB)
    ):
        return False
    hosts = [{"address": "redis://127.0.0.1:6379/0"}]
    try:
        channel_layer = RedisPubSubChannelLayer(hosts=hosts)
        loop_layer = RedisPubSubLoopLayer(hosts, channel_layer=channel_layer)
        shard = RedisSingleShardConnection(hosts[0], loop_layer)
    except Exception as error:  # a changed signature
        LAYER.turn_off(f"a constructor's signature ({error!r})")
        return False
    if not (
        LAYER.require(channel_layer, "RedisPubSubChannelLayer", CHANNEL_LAYER_LIVE)
        and LAYER.require(loop_layer, "RedisPubSubLoopLayer", LOOP_LAYER_LIVE)
        and LAYER.require(shard, "RedisSingleShardConnection", SHARD_LIVE)
    ):
        return False
    LAYER.confirm()
    return True


def refuse_unless_checked() -> None:
    """Raise ImproperlyConfigured, naming the miss, when `check` fails."""
    if not check():
        raise ImproperlyConfigured(
            f"chat.infra.fast.layers cannot run on this channels_redis: "
            f"{LAYER.missing} is missing "
            f"({guard.versions(LAYER.packages)}); pin channels-redis 4.3.0 or "
            "port the layer (see its docstring)"
        )


class Receiver(Protocol):
    async def deliver(self, message: dict[str, Any]) -> bool:
        """Handle a group message now; False to have it queued for the consumer."""


class _ChannelQueue:
    """A channel's queue: what the layer asks of asyncio.Queue (put_nowait, get),
    in about a quarter of its memory. Every socket has one; asyncio.Queue's four
    deques and event came to 2.9 KiB of a socket's 37 (docs/BENCHMARKS.md)."""

    __slots__ = ("items", "waiters")

    def __init__(self) -> None:
        self.items: deque | None = None  # made on the first message
        self.waiters: deque[asyncio.Future] | None = None

    def put_nowait(self, item: Any) -> None:
        if self.items is None:
            self.items = deque()
        self.items.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():  # a cancelled getter's is done
                waiter.set_result(None)
                return

    async def get(self) -> Any:
        while not self.items:
            waiter = asyncio.get_running_loop().create_future()
            if self.waiters is None:
                self.waiters = deque()
            self.waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                # Woken, then cancelled before it took the item: wake another.
                if waiter.done() and not waiter.cancelled() and self.items:
                    self._wake_one()
                raise
        return self.items.popleft()


class _WatchedPubSub(PubSub):
    async def on_connect(self, connection) -> None:
        # redis-py calls this on every reconnect (not the first connect), after
        # which it re-subscribes: anything published in between was missed.
        await super().on_connect(connection)
        worker.layer_reconnected()


class _WatchedShard(RedisSingleShardConnection):
    def __init__(self, host, channel_layer) -> None:
        super().__init__(host, channel_layer)
        self._publisher = Batcher(self._publish_many)
        self._pipe: RedisPipe | None = None

    def _ensure_redis(self) -> None:
        if self._redis is None:
            pool = redis_utils.create_pool(self.host)
            self._redis = aioredis.Redis(connection_pool=pool)
            self._pubsub = _WatchedPubSub(self._redis.connection_pool)

    async def publish(self, channel, message) -> None:
        await self._publisher.submit((channel, message))

    async def _publish_many(self, messages: list[tuple[str, bytes]]) -> list[None]:
        try:
            async with self._lock:
                self._ensure_redis()
                pool = self._redis.connection_pool
                if self._pipe is None or self._pipe.pool is not pool:
                    self._pipe = RedisPipe(pool)
                await self._pipe.execute(
                    [("PUBLISH", channel, message) for channel, message in messages]
                )
        except Exception as error:
            worker.layer_failed(error)
            raise
        return [None] * len(messages)

    async def flush(self) -> None:
        self._publisher.cancel()
        if self._pipe is not None:
            await self._pipe.close()
            self._pipe = None
        await super().flush()

    async def _do_receiving(self) -> None:
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    if message is not None:
                        await self.channel_layer.fan_out(message)
                else:
                    await asyncio.sleep(0.1)
            except (TimeoutError, asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as error:
                worker.layer_failed(error)
                logger.warning("channel layer receive failed: %r; retrying", error)
                await asyncio.sleep(1)


class _WatchedLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, **kwargs) -> None:
        super().__init__(hosts, **kwargs)
        self._shards = [
            _WatchedShard(host, self) for host in redis_utils.decode_hosts(hosts)
        ]
        # channel name -> the socket that takes its group messages directly
        self.receivers: weakref.WeakValueDictionary[str, Receiver] = (
            weakref.WeakValueDictionary()
        )

    async def _subscribe_to_channel(self, channel: str) -> None:
        self.channels[channel] = _ChannelQueue()
        await self._get_shard(channel).subscribe(channel)

    async def fan_out(self, message: dict[str, Any]) -> None:
        """Hand a message from Redis to this process's members of its channel."""
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode()
        data = message["data"]
        if (queue := self.channels.get(name)) is not None:
            queue.put_nowait(data)
            return
        decoded = None
        for channel in list(self.groups.get(name, ())):
            receiver = self.receivers.get(channel)
            if receiver is not None:
                if decoded is None:
                    decoded = self.channel_layer.deserialize(data)
                try:
                    if await receiver.deliver(decoded):
                        continue
                except Exception:
                    logger.exception("delivery to %s failed", channel)
                    continue
            if (queue := self.channels.get(channel)) is not None:
                queue.put_nowait(data)


class WatchedPubSubChannelLayer(RedisPubSubChannelLayer):
    """RedisPubSubChannelLayer that fans out once per process and reports lost
    connections to `chat.infra.worker`."""

    def __init__(self, *args, **kwargs) -> None:
        # Without a launcher (tests, runserver) the check runs here; the launchers
        # run it first and refuse to start on a miss.
        refuse_unless_checked()
        super().__init__(*args, **kwargs)

    def _get_layer(self) -> _WatchedLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = _WatchedLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            redis_utils._wrap_close(self, loop)
        return layer

    def attach(self, channel: str, receiver: Receiver) -> None:
        """Have `receiver.deliver` take `channel`'s group messages, in the order
        they arrive, without a queue or a consumer dispatch in between."""
        self._get_layer().receivers[channel] = receiver

    def detach(self, channel: str) -> None:
        self._get_layer().receivers.pop(channel, None)

    async def release(self, channel: str) -> None:
        """Forget `channel`: its consumer has ended. channels_redis forgets a
        channel only when its `receive` is cancelled, and Channels does not cancel
        one that has just taken a message when the consumer stops (a broadcast
        that arrives while the socket is leaving: channels_redis issue #276). About
        one closed socket in sixteen kept its queue and its Redis subscription for
        the life of the worker (docs/BENCHMARKS.md, soak)."""
        layer = self._get_layer()
        layer.receivers.pop(channel, None)
        if layer.channels.pop(channel, None) is None:
            return
        try:
            await layer._get_shard(channel).unsubscribe(channel)
        except Exception as error:  # Redis is down: left subscribed, harmless
            logger.info("unsubscribing %s failed: %r", channel, error)
