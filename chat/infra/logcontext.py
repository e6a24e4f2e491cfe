"""Who a log line is about: every line carries `user=` and `conn=`.

The consumer binds them once per socket (each socket runs in its own asyncio task,
and database_sync_to_async copies the context into its thread); the middleware
binds them per HTTP request. Message bodies are never logged at INFO.
"""

import logging
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from chat.infra.hybrid import HybridMiddleware

_user: ContextVar[str] = ContextVar("log_user", default="-")
_conn: ContextVar[str] = ContextVar("log_conn", default="-")


def bind(*, user: str, conn: str) -> None:
    _user.set(user or "-")
    _conn.set(conn)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.user = _user.get()
        record.conn = _conn.get()
        return True


SELF_BINDING = ("/poll/",)


class RequestContextMiddleware(HybridMiddleware):
    """Bind the requesting user and client address for the request's log lines."""

    def handle(self, request: HttpRequest) -> HttpResponse:
        name = ""
        # Only a request with a session can have a user: don't make health checks
        # and anonymous pages pay a session lookup.
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            user = request.user
            name = user.get_username() if user.is_authenticated else ""
        bind_request(request, name)
        return self.get_response(request)

    async def ahandle(self, request: HttpRequest) -> HttpResponse:
        name = ""
        # The long-polling transport's requests bind their session's user
        # themselves: a lookup here would read the database for every poll.
        if request.path.startswith(SELF_BINDING):
            bind_request(request, name)
            return await self.get_response(request)
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            user = await request.auser()
            name = user.get_username() if user.is_authenticated else ""
        bind_request(request, name)
        return await self.get_response(request)


def bind_request(request: HttpRequest, name: str) -> None:
    bind(user=name, conn=f"http:{request.META.get('REMOTE_ADDR', '-')}")
