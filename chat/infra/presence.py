"""Who is online, site-wide and per room, shared by every worker.

A *scope* (the site, or one room) holds users, each with the set of sockets
(channel names) that keep them there. Each socket entry carries an expiry that the
socket's heartbeat pushes forward, so when a worker dies without cleaning up, its
sockets stop counting after CHAT_PRESENCE_TTL seconds, and a user with a socket on
another worker stays online.

The scope ACTIVE holds the sockets whose client is in use (a new socket is, and
the client says when it goes idle or comes back: set_presence): a user online
with no socket in it is idle.

With REDIS_URL the store is Redis (sorted sets scored by expiry); without it, one
process's memory, which is all the embedded default runs.
"""

import asyncio
import threading
import time
import weakref
from collections.abc import Iterable
from typing import Protocol

from django.conf import settings

SITE = "site"
ACTIVE = "active"  # the sockets whose client is in use: their users are active


# One socket's presence: (its scopes, its user's name, its channel name).
Entry = tuple[list[str], str, str]
REFRESH_CHUNK = 500  # sockets per Redis pipeline in a heartbeat
POOL_SIZE = 16  # Redis connections per event loop


def room_scope(room_id: int) -> str:
    return f"room:{room_id}"


class PresenceStore(Protocol):
    async def enter(self, scope: str, username: str, channel: str) -> int:
        """Add a socket; the user's number of sockets in the scope (1: the first)."""

    async def leave(self, scope: str, username: str, channel: str) -> bool:
        """Remove a socket; True when it was the user's last in the scope."""

    async def refresh(self, sockets: list[Entry]) -> None:
        """Push each socket's expiry forward in each of its scopes (the heartbeat)."""

    async def members(self, scope: str) -> list[str]:
        """The users online in the scope, sorted."""

    async def sweep(self, scope: str) -> list[str]:
        """Drop the users whose every socket expired; those users. Each is returned
        to one caller only, so one worker tells the clients."""

    def present_now(self, scope: str, usernames: list[str]) -> set[str]:
        """Which of `usernames` are in the scope now. Synchronous, for a thread
        with no event loop (a background job): it blocks on Redis."""

    async def close(self) -> None:
        """Close this event loop's connections."""


class MemoryPresence:
    def __init__(self) -> None:
        # scope -> username -> channel -> expiry
        self.scopes: dict[str, dict[str, dict[str, float]]] = {}

    def _live(self, scope: str, username: str) -> dict[str, float]:
        sockets = self.scopes.setdefault(scope, {}).setdefault(username, {})
        now = time.time()
        for channel in [c for c, expiry in sockets.items() if expiry <= now]:
            del sockets[channel]
        return sockets

    async def enter(self, scope: str, username: str, channel: str) -> int:
        sockets = self._live(scope, username)
        sockets[channel] = time.time() + settings.CHAT_PRESENCE_TTL
        return len(sockets)

    async def leave(self, scope: str, username: str, channel: str) -> bool:
        sockets = self._live(scope, username)
        sockets.pop(channel, None)
        if not sockets:
            self.scopes[scope].pop(username, None)
        return not sockets

    async def refresh(self, sockets: list[Entry]) -> None:
        expiry = time.time() + settings.CHAT_PRESENCE_TTL
        for scopes, username, channel in sockets:
            for scope in scopes:
                self._live(scope, username)[channel] = expiry

    async def members(self, scope: str) -> list[str]:
        users = self.scopes.get(scope, {})
        return sorted(u for u in list(users) if self._live(scope, u))

    async def sweep(self, scope: str) -> list[str]:
        users = self.scopes.get(scope, {})
        gone = [u for u in list(users) if not self._live(scope, u)]
        for username in gone:
            del users[username]
        return gone

    def present_now(self, scope: str, usernames: list[str]) -> set[str]:
        # Another thread than the event loop's: read only, each dict copied in
        # one step (atomic under the GIL) before it is looked through.
        users = self.scopes.get(scope, {})
        now = time.time()
        return {
            name
            for name in usernames
            if any(expiry > now for expiry in list(users.get(name, {}).values()))
        }

    async def close(self) -> None:
        pass


class RedisPresence:
    """Keys: `{prefix}:{scope}` is a sorted set of usernames scored by their latest
    socket expiry; `{prefix}:{scope}:{username}` a sorted set of that user's
    channel names scored by expiry. Each change is one MULTI/EXEC transaction."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        # redis.asyncio clients are bound to the event loop that opened them.
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        # present_now's: a plain client, thread-safe, opened on first use.
        self._sync_client = None
        self._sync_lock = threading.Lock()

    def _redis(self):
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # Bounded: a burst of arrivals (a worker's sockets all reconnecting)
            # waits for a connection rather than opening one per socket, and
            # redis-py keeps every connection it opened (45 kept after 60
            # arrivals, docs/BENCHMARKS.md).
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url,
                max_connections=POOL_SIZE,
                timeout=5,
                socket_timeout=5,
                socket_connect_timeout=2,
                client_name=self.prefix,  # in Redis' CLIENT LIST
            )
            client = redis.asyncio.Redis(connection_pool=pool)
            self._clients[loop] = client
        return client

    def _keys(self, scope: str, username: str) -> tuple[str, str]:
        return f"{self.prefix}:{scope}", f"{self.prefix}:{scope}:{username}"

    async def enter(self, scope: str, username: str, channel: str) -> int:
        users_key, sockets_key = self._keys(scope, username)
        now = time.time()
        expiry = now + settings.CHAT_PRESENCE_TTL
        async with self._redis().pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(sockets_key, "-inf", now)
            pipe.zadd(sockets_key, {channel: expiry})
            pipe.zcard(sockets_key)
            pipe.expire(sockets_key, int(settings.CHAT_PRESENCE_TTL) + 5)
            pipe.zadd(users_key, {username: expiry}, gt=True)
            pipe.zadd(users_key, {username: expiry}, nx=True)
            result = await pipe.execute()
        return result[2]

    async def leave(self, scope: str, username: str, channel: str) -> bool:
        users_key, sockets_key = self._keys(scope, username)
        async with self._redis().pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(sockets_key, "-inf", time.time())
            pipe.zrem(sockets_key, channel)
            pipe.zcard(sockets_key)
            remaining = (await pipe.execute())[2]
        if remaining:
            return False
        # Another socket may enter between the two transactions; only drop the user
        # if their socket set is still empty.
        await self._redis().eval(_DROP_IF_EMPTY, 2, users_key, sockets_key, username)
        return True

    async def refresh(self, sockets: list[Entry]) -> None:
        expiry = time.time() + settings.CHAT_PRESENCE_TTL
        for start in range(0, len(sockets), REFRESH_CHUNK):
            async with self._redis().pipeline(transaction=False) as pipe:
                for scopes, username, channel in sockets[start : start + REFRESH_CHUNK]:
                    for scope in scopes:
                        users_key, sockets_key = self._keys(scope, username)
                        pipe.zadd(sockets_key, {channel: expiry})
                        pipe.expire(sockets_key, int(settings.CHAT_PRESENCE_TTL) + 5)
                        pipe.zadd(users_key, {username: expiry}, gt=True)
                        pipe.zadd(users_key, {username: expiry}, nx=True)
                await pipe.execute()

    async def members(self, scope: str) -> list[str]:
        users_key = f"{self.prefix}:{scope}"
        now = time.time()
        async with self._redis().pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(users_key, "-inf", now)
            pipe.zrange(users_key, 0, -1)
            _, names = await pipe.execute()
        return sorted(n.decode() for n in names)

    async def sweep(self, scope: str) -> list[str]:
        gone = await self._redis().eval(
            _SWEEP, 1, f"{self.prefix}:{scope}", time.time()
        )
        return [name.decode() for name in gone]

    def present_now(self, scope: str, usernames: list[str]) -> set[str]:
        # A user's score is their latest socket's expiry; one who left is gone.
        scores = self._sync_redis().zmscore(f"{self.prefix}:{scope}", usernames)
        now = time.time()
        return {
            name
            for name, score in zip(usernames, scores, strict=True)
            if score is not None and score > now
        }

    def _sync_redis(self):
        import redis

        with self._sync_lock:
            if self._sync_client is None:
                self._sync_client = redis.Redis.from_url(
                    self.url,
                    socket_timeout=5,
                    socket_connect_timeout=2,
                    client_name=f"{self.prefix}:sync",
                )
            return self._sync_client

    async def close(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


_DROP_IF_EMPTY = """
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""

_SWEEP = """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
end
return gone
"""

_store: PresenceStore | None = None


def store() -> PresenceStore:
    """The process's presence store, chosen by settings on first use."""
    global _store
    if _store is None:
        if settings.REDIS_URL:
            _store = RedisPresence(
                settings.REDIS_URL, f"{settings.CHAT_REDIS_PREFIX}:presence"
            )
        else:
            _store = MemoryPresence()
    return _store


def active_usernames(usernames: Iterable[str]) -> set[str]:
    """Which of `usernames` are active now: a session of theirs is in use (see
    ACTIVE). For synchronous code with no running event loop, such as a
    background job deciding whom to notify; on the event loop, ask the store."""
    wanted = list(dict.fromkeys(usernames))
    if not wanted:
        return set()
    return store().present_now(ACTIVE, wanted)


def reset() -> None:
    """Forget the chosen store (tests change settings between runs)."""
    global _store
    _store = None
