"""Test harness.

The channel layer and presence are whatever the settings choose: Redis when
REDIS_URL is set (as CI sets it), in memory otherwise. On Redis the run uses its
own database number (TEST_REDIS_DB, default 15) and a key prefix of its own, and
deletes its keys at the end; pytest-django creates and drops the test database.
"""

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections

from chat.domain import events
from chat.infra import presence, ratelimit
from chatproject.settings import redis_host

from .wsclient import TRANSPORTS, Socket, close_all, open_socket

# Every frame the run sends is checked against the event catalogue.
pytest_plugins = ["tests.contract.plugin"]

RUN_PREFIX = f"test-{uuid.uuid4().hex[:10]}"


def _redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


@pytest.fixture(scope="session", autouse=True)
def no_persistent_connections() -> None:
    """Sockets' database work runs in worker threads; a connection they kept open
    would stop pytest-django from dropping the test database."""
    connections.settings["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(scope="session", autouse=True)
def isolated_redis() -> Iterator[None]:
    if not settings.REDIS_URL:
        yield
        return
    settings.REDIS_URL = _redis_url_with_db(
        settings.REDIS_URL, int(os.environ.get("TEST_REDIS_DB", "15"))
    )
    settings.CHAT_REDIS_PREFIX = RUN_PREFIX
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [
        redis_host(settings.REDIS_URL)
    ]
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"{RUN_PREFIX}:layer"
    yield
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(f"{RUN_PREFIX}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(autouse=True)
def fresh_state() -> Iterator[None]:
    """Each test gets a new channel layer, empty presence and full rate buckets."""
    channel_layers.backends = {}
    if settings.REDIS_URL:
        settings.CHAT_REDIS_PREFIX = f"{RUN_PREFIX}:{uuid.uuid4().hex[:8]}"
    presence.reset()
    ratelimit.reset()
    yield
    channel_layers.backends = {}
    presence.reset()


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """Test users never need a strong hash; PBKDF2 costs ~0.2 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def prompt_presence_lists(settings) -> None:
    """Presence lists go out on every change here, in order with the frames
    around them; coalescing (1 s by default, for busy servers) has tests of its
    own."""
    settings.CHAT_PRESENCE_COALESCE = 0


@pytest.fixture
def make_user(django_user_model) -> Callable[..., object]:
    def make(username: str, **extra: object) -> object:
        return django_user_model.objects.create_user(
            username=username, password="pw-for-tests-1", **extra
        )

    return make


@pytest.fixture
def amake_user(make_user) -> Callable[..., object]:
    """make_user for async tests."""
    return sync_to_async(make_user)


@pytest.fixture(params=TRANSPORTS)
async def sockets(request) -> AsyncIterator[Callable[..., object]]:
    """Open logged-in sockets; all are closed (and the layer flushed) afterwards.

    Every test that uses it runs over each transport of the protocol (WebSocket
    and long-polling), unless marked websocket_only (it speaks WebSocket framing
    itself: binary frames, raw ASGI messages)."""
    transport = request.param
    if transport != "websocket" and request.node.get_closest_marker("websocket_only"):
        pytest.skip("WebSocket framing only")
    opened: list[Socket] = []

    async def connect(user: object, **kwargs: object) -> Socket:
        kwargs.setdefault("transport", transport)
        socket = await open_socket(user, **kwargs)
        opened.append(socket)
        return socket

    yield connect
    await close_all(opened)


@pytest.fixture
def user_model():
    return get_user_model()


# --- Services: what they broadcast -------------------------------------------------


@pytest.fixture
def broadcasts(monkeypatch) -> list[events.Broadcast]:
    """The broadcasts services hand over once their transaction commits."""
    sent: list[events.Broadcast] = []
    monkeypatch.setattr(events, "_dispatch", sent.append)
    return sent


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run on-commit work (the broadcasts) when the block ends, as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
