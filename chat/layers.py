"""channels_redis' pub/sub layer, made to say when it may have lost messages.

Redis pub/sub keeps nothing for a subscriber that is cut off: whatever is published
while the connection is down is gone, and redis-py reconnects and re-subscribes
without a word (channels_redis removed its on_disconnect / on_reconnect hooks in
4.0, issue #406). This subclass reports both edges to `chat.worker`: a failed read
marks the layer down, a re-established subscriber connection makes the worker's
sockets resync.

Written against channels-redis 4.3.0 (pinned); the overrides are small and named
after the methods they replace.
"""

import asyncio
import logging

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, create_pool, decode_hosts
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub

from . import worker

logger = logging.getLogger(__name__)


class _WatchedPubSub(PubSub):
    async def on_connect(self, connection) -> None:
        # redis-py calls this on every reconnect (not the first connect), after
        # which it re-subscribes: anything published in between was missed.
        await super().on_connect(connection)
        worker.layer_reconnected()


class _WatchedShard(RedisSingleShardConnection):
    def _ensure_redis(self) -> None:
        if self._redis is None:
            self._redis = aioredis.Redis(connection_pool=create_pool(self.host))
            self._pubsub = _WatchedPubSub(self._redis.connection_pool)

    async def publish(self, channel, message) -> None:
        try:
            await super().publish(channel, message)
        except Exception as error:
            worker.layer_failed(error)
            raise

    async def _do_receiving(self) -> None:
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    self._receive_message(message)
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
        self._shards = [_WatchedShard(host, self) for host in decode_hosts(hosts)]


class WatchedPubSubChannelLayer(RedisPubSubChannelLayer):
    """RedisPubSubChannelLayer that reports lost connections to `chat.worker`."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = _WatchedLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
