"""This worker process's own state: its open sockets, and whether its channel
layer can be trusted to deliver.

A channel layer drops what is published while a subscriber is cut off from Redis,
and says nothing (channels_redis pub/sub; shared/notes/channels-faults.md). So:

- while the layer is down, `refuse_if_layer_down` turns sends away with the
  retryable error `unavailable` rather than store messages nobody hears about;
  `unavailable` promises the client that nothing was stored, so it is only ever
  decided before storing (`before_storing`, which also bounds how long a hung
  Redis can hold a send), and a change once committed is never answered with it
  (`send_committed`): its broadcast gets a deadline, and what fails to go out is
  published again when the layer is back;
- when the layer's subscriber connection comes back (chat.infra.fast.layers tells
  us), every socket of this worker may have missed broadcasts: they are closed
  with 1012, and clients reconnect and resync from the last seq they saw
  (docs/PROTOCOL.md).

While a loop has sockets it probes the layer with a round trip, so the flag also
clears after a failure that never broke the subscriber connection.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import redis.exceptions
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from chat.domain import events
from chat.domain.errors import ChatError

logger = logging.getLogger(__name__)

PROBE_EVERY_UP = 5.0  # seconds between layer probes while it works
PROBE_EVERY_DOWN = 1.0  # ... and while it is down: recover quickly
PROBE_TIMEOUT = 2.0
RETRY_AFTER_UNAVAILABLE = 2.0  # seconds: about a probe and a reconnect
# A send is answered within 2 s while Redis hangs (a hung Redis otherwise holds a
# call for the connection's socket_timeout, 10 s): at most this long for Redis
# before a change is stored (the rate limit; over it, `unavailable`) ...
ADMIT_DEADLINE = 0.5
# ... and this long for its broadcast after (over it, the reply still says stored).
PUBLISH_DEADLINE = 1.0
# Committed broadcasts kept to publish again once the layer is back; past this the
# oldest are dropped (their sockets resync on 1012 or on their next reconnect).
UNSENT_MAX = 10_000
# What a channel layer or presence store raises when Redis is away.
LAYER_ERRORS = (redis.exceptions.RedisError, OSError, TimeoutError)


class Socket(Protocol):
    """A live client session of this worker (chat.realtime.session.Session)."""

    async def restart(self) -> None:
        """End it so that its client comes back and resyncs."""


class _LoopState:
    """What one event loop of this process knows (daphne runs one; tests many)."""

    def __init__(self) -> None:
        self.sockets: weakref.WeakSet[Any] = weakref.WeakSet()
        self.layer_down_since: float | None = None
        self.jobs: dict[str, asyncio.Task] = {}
        self.probe_channel: str | None = None
        self.probe: asyncio.Task | None = None
        # worker.coalesce: when each key's job last ran, the runs due later, and
        # the job each of those will run.
        self.last_run: dict[str, float] = {}
        self.coalescing: dict[str, asyncio.Task] = {}
        self.wanted: dict[str, Callable[[], Awaitable[None]]] = {}
        self.db_places: dict[int, _Places] = {}
        # Broadcasts of committed changes that did not reach the layer.
        self.unsent: deque[events.Broadcast | events.Control] = deque(maxlen=UNSENT_MAX)
        self.republish: asyncio.Task | None = None


_states: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _state() -> _LoopState:
    loop = asyncio.get_running_loop()
    state = _states.get(loop)
    if state is None:
        state = _states[loop] = _LoopState()
    return state


def channel_layer() -> Any:
    return get_channel_layer()


async def release_channel(channel: str) -> None:
    """A transport's session on `channel` has ended: the layer may forget it
    (chat.infra.fast.layers; the stock layers have nothing to do)."""
    if release := getattr(channel_layer(), "release", None):
        await release(channel)


def name() -> str:
    """This worker's name in logs and metrics: CHAT_WORKER_NAME, or host:pid."""
    return settings.CHAT_WORKER_NAME or f"{socket.gethostname()}:{os.getpid()}"


R = TypeVar("R")


# --- Database threads ---------------------------------------------------------------

_db_threads: ThreadPoolExecutor | None = None


def in_db_thread(fn: Callable[..., R]) -> Callable[..., Awaitable[R]]:
    """`fn` made awaitable, run in a pool of CHAT_DB_THREADS threads.

    Channels' default runs every socket's database work in one thread per worker,
    so one slow query holds up every socket, and a worker's message rate is capped
    by the database round trips of one thread. Each thread of the pool keeps its own
    connection (CONN_MAX_AGE), and database_sync_to_async still closes stale ones.
    """
    global _db_threads
    if _db_threads is None:
        _db_threads = ThreadPoolExecutor(
            settings.CHAT_DB_THREADS, thread_name_prefix="chat-db"
        )
    return database_sync_to_async(fn, thread_sensitive=False, executor=_db_threads)


@contextlib.asynccontextmanager
async def db_turn(user_id: int) -> AsyncIterator[None]:
    """Wait until the user has fewer than CHAT_DB_THREADS_PER_USER database calls
    running in this event loop, and hold one of their places meanwhile."""
    places = _state().db_places
    place = places.get(user_id)
    if place is None:
        place = places[user_id] = _Places(settings.CHAT_DB_THREADS_PER_USER)
    place.users += 1
    try:
        async with place.semaphore:
            yield
    finally:
        place.users -= 1
        if not place.users:
            del places[user_id]


class _Places:
    """One user's database places: a semaphore, and how many calls hold or wait
    for it (the entry goes when none do)."""

    __slots__ = ("semaphore", "users")

    def __init__(self, size: int) -> None:
        self.semaphore = asyncio.Semaphore(size)
        self.users = 0


# --- Sockets --------------------------------------------------------------------------


def socket_opened(sock: Socket) -> None:
    _state().sockets.add(sock)
    every(_probe_interval, _probe_layer, key="layer")


def socket_closed(sock: Socket) -> None:
    state = _state()
    state.sockets.discard(sock)
    if not state.sockets:
        for task in state.jobs.values():
            task.cancel()
        state.jobs.clear()


Interval = float | Callable[[], float]


def every(
    interval: Interval, job: Callable[[list[Any]], Awaitable[None]], key: str
) -> None:
    """Run `job(sockets)` every `interval` seconds (a number, or a function asked
    before each wait) while this loop has sockets."""
    state = _state()
    task = state.jobs.get(key)
    if task is None or task.done():
        state.jobs[key] = asyncio.create_task(_repeat(state, interval, job))


async def _repeat(
    state: _LoopState, interval: Interval, job: Callable[[list[Any]], Awaitable[None]]
) -> None:
    while state.sockets:
        await asyncio.sleep(interval() if callable(interval) else interval)
        try:
            await job(list(state.sockets))
        except LAYER_ERRORS as error:
            layer_failed(error)
        except Exception:
            logger.exception("%s failed", getattr(job, "__name__", job))


async def coalesce(
    key: str, interval: float, job: Callable[[], Awaitable[None]]
) -> None:
    """Run `job` now; or, if a job of this key ran less than `interval` seconds
    ago, once when the interval is over, however often it is asked for meanwhile
    (the latest `job` given). A burst of changes makes one announcement."""
    state = _state()
    if key in state.coalescing:  # a later run is already due
        state.wanted[key] = job
        return
    now = time.monotonic()
    since = now - state.last_run.get(key, float("-inf"))
    if since >= interval:
        state.last_run[key] = now
        await job()
        return
    state.wanted[key] = job
    state.coalescing[key] = asyncio.create_task(
        _run_later(state, key, interval - since)
    )


async def _run_later(state: _LoopState, key: str, delay: float) -> None:
    try:
        await asyncio.sleep(delay)
        state.last_run[key] = time.monotonic()
        job = state.wanted.pop(key)
        del state.coalescing[key]
        await job()
    except LAYER_ERRORS as error:
        layer_failed(error)
    except Exception:
        logger.exception("%s failed", key)


def open_sockets() -> int:
    return sum(len(state.sockets) for state in list(_states.values()))


async def sockets_restart(reason: str) -> None:
    """End every session of this event loop so that its client resyncs."""
    sockets = list(_state().sockets)
    logger.warning("restarting %d sessions: %s", len(sockets), reason)
    for sock in sockets:
        try:
            await sock.restart()
        except Exception:
            logger.exception("could not close a socket")


# --- The channel layer ------------------------------------------------------------


def layer_failed(error: BaseException) -> None:
    """Note that the layer failed (a publish, a probe, the subscriber connection)."""
    state = _state()
    if state.layer_down_since is None:
        state.layer_down_since = time.monotonic()
        logger.error("channel layer down: %s", error.__class__.__name__)
        if state.sockets:
            # A deadline missed under load rather than a Redis that hangs would
            # otherwise refuse sends until the next periodic probe, up to 5 s on.
            state.jobs["recheck"] = asyncio.create_task(_recheck())


def layer_ok() -> None:
    state = _state()
    if state.layer_down_since is not None:
        down_for = time.monotonic() - state.layer_down_since
        state.layer_down_since = None
        logger.warning("channel layer up again after %.1f s", down_for)
    if state.unsent:
        unsent = list(state.unsent)
        state.unsent.clear()
        logger.warning("publishing %d broadcasts again", len(unsent))
        # Kept: the loop holds tasks only weakly.
        state.republish = asyncio.create_task(send_committed(unsent))


def layer_is_up() -> bool:
    return _state().layer_down_since is None


def layer_is_up_anywhere() -> bool:
    """For callers off the event loop (/metrics): no loop's layer is down."""
    return all(state.layer_down_since is None for state in list(_states.values()))


def layer_reconnected() -> None:
    """The subscriber connection came back: broadcasts may have been missed."""
    layer_ok()
    asyncio.get_running_loop().create_task(
        sockets_restart("the channel layer reconnected")
    )


def refuse_if_layer_down() -> None:
    if not layer_is_up():
        raise unavailable()


async def before_storing(
    check: Callable[..., Awaitable[None]], *args: Any, **kwargs: Any
) -> None:
    """The Redis side of a change, before it is stored: `check(*args, **kwargs)` (the
    rate limit) within ADMIT_DEADLINE, and the layer up; else `unavailable`.

    This is the last moment a reply can truthfully say that nothing was stored.
    Redis that takes longer than the deadline is taken for hung: the layer, on the
    same Redis, would hold the broadcast as long."""
    refuse_if_layer_down()
    try:
        async with asyncio.timeout(ADMIT_DEADLINE):
            await check(*args, **kwargs)
    except TimeoutError as error:
        layer_failed(error)
        raise unavailable() from None
    refuse_if_layer_down()


Outgoing = events.Broadcast | events.Control


async def send_committed(broadcasts: Iterable[Outgoing]) -> None:
    """Publish the broadcasts of a change that is already committed.

    Never raises for Redis, and gives up after PUBLISH_DEADLINE: the change is
    stored whatever happens here, so its reply must say so (a retry of a message
    with its clientId finds it; one without would store it twice). What does not
    go out is published again once the layer is back; sockets drop a room's seq
    they already sent (chat.realtime.session.Delivered)."""
    broadcasts = list(broadcasts)
    if not broadcasts:
        return
    state = _state()
    if state.layer_down_since is not None:  # it would only wait out the deadline
        _keep_unsent(state, broadcasts)
        return
    try:
        async with asyncio.timeout(PUBLISH_DEADLINE):
            await events.send(broadcasts)
    except LAYER_ERRORS as error:  # TimeoutError included
        layer_failed(error)
        logger.warning("a committed change's broadcast failed: %r", error)
        _keep_unsent(state, broadcasts)


def _keep_unsent(state: _LoopState, broadcasts: list[Outgoing]) -> None:
    # Only what is safe to repeat late: a room change (its seq makes a repeat a
    # no-op), and an order to close (a ban, a logout). Late read markers, presence
    # or kicks could overwrite newer state.
    state.unsent.extend(b for b in broadcasts if _repeatable(b))


def _repeatable(broadcast: Outgoing) -> bool:
    if isinstance(broadcast, events.Control):
        return broadcast.action == "close"
    return broadcast.data.get("seq") is not None


def unavailable() -> ChatError:
    return ChatError(
        "unavailable",
        "the server cannot deliver messages right now; retry shortly",
        retryAfter=RETRY_AFTER_UNAVAILABLE,
    )


async def layer_round_trip() -> None:
    """Send a message to this worker through the layer and wait for it back.

    Raises on failure (a Redis error, or TimeoutError). Concurrent callers (the
    periodic probe, health checks) share one probe: several receivers on the one probe
    channel would take each other's replies."""
    state = _state()
    if state.probe is None or state.probe.done():
        state.probe = asyncio.create_task(_probe(state))
    await asyncio.shield(state.probe)


async def _probe(state: _LoopState) -> None:
    layer = get_channel_layer()
    if state.probe_channel is None:
        state.probe_channel = await layer.new_channel("probe.")
    token = f"{time.monotonic_ns()}"
    try:
        # The send too: on a hung Redis it waits out the socket_timeout (10 s).
        async with asyncio.timeout(PROBE_TIMEOUT):
            await layer.send(state.probe_channel, {"type": "probe", "token": token})
            while (await layer.receive(state.probe_channel))["token"] != token:
                pass  # an answer to an earlier probe that timed out
    except BaseException:
        # The pub/sub layer drops a channel whose receive was cancelled.
        state.probe_channel = None
        raise


async def _recheck() -> None:
    await asyncio.sleep(PROBE_EVERY_DOWN)
    await _probe_layer([])


def _probe_interval() -> float:
    return PROBE_EVERY_UP if layer_is_up() else PROBE_EVERY_DOWN


async def _probe_layer(sockets: list[Any]) -> None:
    try:
        await layer_round_trip()
    except Exception as error:
        layer_failed(error)
    else:
        layer_ok()
