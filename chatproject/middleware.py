"""Project-wide middleware: HTTP, and the WebSocket session."""

from collections.abc import Callable
from typing import Any

from channels.sessions import InstanceSessionWrapper
from django.db import connections
from django.http import HttpRequest, HttpResponse


class CloseDatabaseConnectionsMiddleware:
    """Close the request's database connections when it is answered.

    Under ASGI, Django runs each HTTP request's synchronous code in a thread of its
    own, so a persistent connection (CONN_MAX_AGE) opened there is never reused and
    lingers until the garbage collector finds it: bursts of requests used up
    PostgreSQL's max_connections. Sockets are not affected: their database work
    runs in the worker's pool of threads (chat.worker.in_db_thread), which keep
    their connections.
    Outermost, so it runs after the session is saved.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            for connection in connections.all(initialized_only=True):
                # Inside a transaction only in tests (TestCase wraps each test).
                if not connection.in_atomic_block:
                    connection.close()


class WebSocketSessionMiddleware:
    """channels' SessionMiddleware for sockets, without its wrapper around `send`.

    A socket reads its session at the handshake and never saves it; channels'
    wrapper asked the session whether it had changed on every frame sent, about
    10 % of a busy worker's time (docs/BENCHMARKS.md). Goes inside CookieMiddleware.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        session = InstanceSessionWrapper(scope, send)
        await session.resolve_session()
        return await self.inner(session.scope, receive, send)
