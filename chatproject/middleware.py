"""Project-wide HTTP middleware."""

from collections.abc import Callable

from django.db import connections
from django.http import HttpRequest, HttpResponse


class CloseDatabaseConnectionsMiddleware:
    """Close the request's database connections when it is answered.

    Under ASGI, Django runs each HTTP request's synchronous code in a thread of its
    own, so a persistent connection (CONN_MAX_AGE) opened there is never reused and
    lingers until the garbage collector finds it: bursts of requests used up
    PostgreSQL's max_connections. Sockets are not affected: every consumer's
    database work runs in the worker's one sync thread, which keeps its connection.
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
