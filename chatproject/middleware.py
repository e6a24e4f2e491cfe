"""Project-wide middleware: HTTP, and the WebSocket origin check and session."""

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from channels.security.websocket import WebsocketDenier
from channels.sessions import InstanceSessionWrapper
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain
from whitenoise.middleware import WhiteNoiseMiddleware

from chat.infra.hybrid import HybridMiddleware

DEFAULT_PORTS = {"http": 80, "https": 443}
# An origin as compared: scheme, lower-case host (no brackets), port.
Origin = tuple[str, str, int]


class CloseDatabaseConnectionsMiddleware(HybridMiddleware):
    """Close the request's database connections when it is answered.

    Under ASGI, Django runs each HTTP request's synchronous code in a thread of its
    own, so a persistent connection (CONN_MAX_AGE) opened there is never reused and
    lingers until the garbage collector finds it: bursts of requests used up
    PostgreSQL's max_connections. Sockets are not affected: their database work
    runs in the worker's pool of threads (chat.infra.worker.in_db_thread), which keep
    their connections.
    Outermost, so it runs after the session is saved.
    """

    def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            close_request_connections()

    async def ahandle(self, request: HttpRequest) -> HttpResponse:
        try:
            return await self.get_response(request)
        finally:
            # The request's own sync code ran in its thread: close there.
            await sync_to_async(close_request_connections)()


def close_request_connections() -> None:
    for connection in connections.all(initialized_only=True):
        # Inside a transaction only in tests (TestCase wraps each test).
        if not connection.in_atomic_block:
            connection.close()


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, able to pass an async request on without a thread (WhiteNoise's
    own middleware is sync-only: every async view behind it held a thread)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any = None) -> None:
        super().__init__(get_response)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        if self.autorefresh:
            static_file = self.find_file(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)


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


class SameOriginValidator:
    """Refuse a WebSocket handshake from a page of another origin.

    A browser sends the page's origin (scheme://host:port) with every WebSocket
    handshake, and the member's cookie whatever the page: this check is what stops
    cross-site WebSocket hijacking. channels' AllowedHostsOriginValidator compared
    only the origin's host with ALLOWED_HOSTS, so http://localhost:6666 (any local
    program) or another scheme passed. Here the whole origin must be one of
    - the handshake's own: its Host header (which must be in ALLOWED_HOSTS, as
      Django requires of every request) with http for ws and https for wss;
    - CSRF_TRUSTED_ORIGINS or CHAT_ALLOWED_ORIGINS (a "*." host there matches its
      subdomains, as Django's CSRF check does).
    Settings are read on every handshake, so tests may change them.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if handshake_allowed(scope):
            return await self.inner(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


def handshake_allowed(scope: dict) -> bool:
    headers = {name: value.decode("latin1") for name, value in scope["headers"]}
    host, origin = headers.get(b"host"), headers.get(b"origin")
    if not host or not origin or not host_allowed(host):
        return False
    scheme = scope.get("scheme", "ws")  # daphne leaves it out, even for TLS
    proto = headers.get(b"x-forwarded-proto", "").strip().lower()
    # Behind the proxy, TLS ends there: only it knows the page's scheme. Anyone
    # else could claim one (though a browser lets no page set this header).
    if settings.CHAT_TRUST_PROXY_HEADERS and proto in ("http", "https", "ws", "wss"):
        scheme = proto
    return origin_is_own(origin, host, secure=scheme in ("https", "wss"))


def request_origin_allowed(request: HttpRequest) -> bool:
    """The handshake's rule for an HTTP request of the long-polling transport: a
    request from a page of another origin is refused. Browsers send Origin on
    every cross-origin request; a request without one must not say it is
    cross-site (Sec-Fetch-Site) either."""
    origin = request.headers.get("Origin")
    if origin is None:
        site = request.headers.get("Sec-Fetch-Site", "same-origin")
        return site in ("same-origin", "none")
    return origin_is_own(origin, request.get_host(), secure=request.is_secure())


def origin_is_own(origin: str, host: str, *, secure: bool) -> bool:
    """Whether `origin` is this site's own (the scheme, host and port the
    request came to), or one of CSRF_TRUSTED_ORIGINS / CHAT_ALLOWED_ORIGINS."""
    given = parse_origin(origin)
    if given is None:
        return False
    own = parse_origin(("https" if secure else "http") + "://" + host)
    if given == own:
        return True
    trusted = [*settings.CSRF_TRUSTED_ORIGINS, *settings.CHAT_ALLOWED_ORIGINS]
    return origin_trusted(given, trusted)


def host_allowed(host: str) -> bool:
    """The Host header names this site, as Django's HttpRequest.get_host checks."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


def parse_origin(text: str) -> Origin | None:
    """scheme://host[:port] as (scheme, host, port), or None if it is not one
    (such as "null", sent by sandboxed pages and file: URLs)."""
    try:
        parts = urlsplit(text.strip().lower())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a port that is not a number, or out of range
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or port is None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return parts.scheme, parts.hostname, port


def origin_trusted(given: Origin, trusted: Iterable[str]) -> bool:
    scheme, host, port = given
    for text in trusted:
        # "https://*.example.com": parse the host without its "*", match below it.
        wildcard = "://*." in text
        pattern = parse_origin(text.replace("://*.", "://", 1))
        if pattern is None:
            continue
        if wildcard:
            if (scheme, port) == (pattern[0], pattern[2]) and is_same_domain(
                host, "." + pattern[1]
            ):
                return True
        elif given == pattern:
            return True
    return False
