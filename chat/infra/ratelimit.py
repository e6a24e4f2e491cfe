"""Token buckets per user and kind of event (CHAT_RATE_LIMITS); per client
address for what anonymous visitors do (signing up).

A kind maps to (rate, burst): a bucket holds at most `burst` tokens, refills at
`rate` tokens a second, and each event takes one (or its cost, for the "request"
budget every client frame is charged to). With REDIS_URL the buckets live in Redis,
so all of a user's sockets on every worker share them; without it, in this
process's memory, which is all the embedded default runs.

If Redis cannot be reached, each worker enforces the limits on its own, in memory
(and a warning is logged): with N workers a user gets at most N times the budget
while Redis is away, rather than no limit at all.
"""

import asyncio
import hashlib
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from django.conf import settings

from chat.domain.errors import ChatError
from chat.infra.fast.batching import Batcher
from chat.infra.fast.redispipe import RedisPipe

logger = logging.getLogger(__name__)


async def check(who: int | str, kind: str, cost: float = 1) -> None:
    """Take `cost` tokens of `who` (a user id, or a client address) for `kind`, or
    raise ChatError("rate_limited") with a hint (and take nothing)."""
    rate, burst = settings.CHAT_RATE_LIMITS[kind]
    key = f"{kind}:{who}"
    cost = min(cost, burst)
    # A bucket found short of `cost` tokens stays short of them until its refill
    # time at least (other workers can only take more): until then refuse here,
    # without a round trip. A client that ignores retryAfter and keeps asking
    # then costs a worker a dictionary lookup a frame, not a Redis call.
    now = _clock()
    until, short_of = _short.get(key, (0.0, 0.0))
    wait = until - now if cost >= short_of else 0.0
    if wait <= 0:
        wait = await _store().take(key, rate, burst, cost)
        if wait > 0:
            _remember_short(key, now + wait, cost)
    if wait > 0:
        retry_after = round(wait, 3)
        raise ChatError(
            "rate_limited",
            f"too many {kind} events; try again in {retry_after} s",
            retryAfter=retry_after,
        )


def check_sync(who: int | str, kind: str) -> None:
    """check() for views. Under daphne it runs on the worker's event loop, so it
    shares that loop's Redis connection with the sockets."""
    async_to_sync(check)(who, kind)


# Buckets found short: until when (by _clock()) they stay short of how many
# tokens at least.
_short: dict[str, tuple[float, float]] = {}
SHORT_MAX = 10_000  # keys remembered; past it the expired ones are dropped


def _remember_short(key: str, until: float, cost: float) -> None:
    if len(_short) >= SHORT_MAX:
        now = _clock()
        for stale in [k for k, (t, _) in _short.items() if t <= now]:
            del _short[stale]
    _short[key] = (until, cost)


def reset() -> None:
    """Empty the memory buckets and forget the chosen store (tests change settings)."""
    global _chosen
    _memory.buckets.clear()
    _short.clear()
    _chosen = None


async def close() -> None:
    """Close this event loop's Redis connection, if the store has one."""
    if isinstance(_chosen, RedisBuckets):
        await _chosen.close()


class BucketStore(Protocol):
    async def take(self, key: str, rate: float, burst: int, cost: float) -> float:
        """Take `cost` tokens from bucket `key`: 0 if taken, else the seconds until
        they are there (and nothing is taken)."""


@dataclass
class Bucket:
    tokens: float
    updated: float


class MemoryBuckets:
    def __init__(self) -> None:
        self.buckets: dict[str, Bucket] = {}

    async def take(self, key: str, rate: float, burst: int, cost: float) -> float:
        now = _clock()
        bucket = self.buckets.setdefault(key, Bucket(tokens=burst, updated=now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens < cost:
            return (cost - bucket.tokens) / rate
        bucket.tokens -= cost
        return 0.0


def _clock() -> float:
    """The memory store's clock (tests patch it)."""
    return time.monotonic()


# One atomic step: refill by the time since the last call, take `cost` tokens if
# they are there, and keep the hash only as long as it takes to fill up again (a
# full bucket and a missing one are the same). Redis' own clock, so workers'
# clocks don't matter.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens < cost then
  wait = (cost - tokens) / rate
else
  tokens = tokens - cost
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
  'updated', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""
_TAKE_SHA = hashlib.sha1(_TAKE.encode()).hexdigest()


class RedisBuckets:
    """Key `{CHAT_REDIS_PREFIX}:rate:{kind}:{user id}`: a hash of tokens and the time
    they were counted, changed only by the _TAKE script."""

    def __init__(self, url: str) -> None:
        self.url = url
        # redis.asyncio clients are bound to the event loop that opened them. Per
        # loop: the script, and the batcher that sends the takes waiting for a
        # round trip together in one pipeline.
        self._loops: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._warned_at = float("-inf")

    def _batcher(self) -> Batcher[tuple[str, float, int, float], Any]:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=1, socket_connect_timeout=1
            )
            pipe = RedisPipe(client.connection_pool)

            async def take_many(
                takes: list[tuple[str, float, int, float]],
            ) -> list[Any]:
                replies = await pipe.execute(
                    [("EVALSHA", _TAKE_SHA, 1, *take) for take in takes]
                )
                # Redis forgets scripts when it restarts: EVAL loads it again.
                again = [i for i, r in enumerate(replies) if isinstance(r, Exception)]
                if again:
                    retried = await pipe.execute(
                        [("EVAL", _TAKE, 1, *takes[i]) for i in again]
                    )
                    for i, reply in zip(again, retried, strict=True):
                        replies[i] = reply
                for reply in replies:
                    if isinstance(reply, Exception):
                        raise reply
                return replies

            state = self._loops[loop] = (client, pipe, Batcher(take_many))
        return state[2]

    async def take(self, key: str, rate: float, burst: int, cost: float) -> float:
        from redis.exceptions import RedisError

        # The prefix is read per call: tests give each test a prefix of its own.
        full_key = f"{settings.CHAT_REDIS_PREFIX}:rate:{key}"
        try:
            wait = await self._batcher().submit((full_key, rate, burst, cost))
        except (RedisError, OSError, TimeoutError) as error:
            self._warn(error)
            return await _memory.take(key, rate, burst, cost)
        return float(wait)

    def _warn(self, error: Exception) -> None:
        """Log that limits are per worker, at most once a minute (not per event)."""
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            logger.warning(
                "rate limits enforced per worker: Redis unreachable: %r", error
            )

    async def close(self) -> None:
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            client, pipe, batcher = state
            batcher.cancel()
            await pipe.close()
            await client.aclose()


_memory = MemoryBuckets()
_chosen: BucketStore | None = None


def _store() -> BucketStore:
    """The process's bucket store, chosen by settings on first use."""
    global _chosen
    if _chosen is None:
        _chosen = RedisBuckets(settings.REDIS_URL) if settings.REDIS_URL else _memory
    return _chosen
