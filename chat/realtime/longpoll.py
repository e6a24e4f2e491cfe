"""The long-polling transport of protocol v1 (docs/PROTOCOL.md, "Transports"):
the same frames as a WebSocket, carried by HTTP requests, for networks that
refuse WebSockets (proxies that strip Upgrade, TLS-inspecting firewalls).

    POST   /poll/        open a session: {"sid", "frames"}
    POST   /poll/<sid>/  a JSON array of client frames: {"frames"}
    GET    /poll/<sid>/  wait (up to 25 s, ?wait= less) for frames: {"frames"}
    DELETE /poll/<sid>/  end the session, as closing a socket does

A session lives on the worker that opened it, with its own channel on the channel
layer, like a socket; its frames wait in an outbox (bounded like a socket's
buffer) until a GET takes them. A session that ended answers 410 with the close
code a socket would have had. Behind several workers, requests are routed by the
login session's cookie (deploy/nginx/chat.conf), so a browser's polls reach the
worker that holds its session; a sid unknown to a worker answers 410 with 1012,
and the client opens a new session and resyncs, as after a worker restart.
"""

import asyncio
import hmac
import json
import logging
import secrets
import time
from collections import deque
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from chat.domain.errors import ChatError
from chat.domain.events import CONTROL_TYPE as CONTROL
from chat.infra import logcontext, ratelimit, worker
from chat.realtime import dispatch, protocol
from chat.realtime.session import Session, refusal_code
from chatproject.middleware import request_origin_allowed

logger = logging.getLogger(__name__)

WAIT_MAX = 25.0  # seconds a GET waits for a frame
IDLE_LIMIT = 60.0  # a session with no GET for this long ends
ENDED_KEPT = 120.0  # how long an ended session still answers 410 with its code
REAP_EVERY = 10.0
FRAMES_PER_POST = 100
SPIN_WAIT = 1.0  # a GET asking to wait less than this, answered empty, is paid for
CLOSE_NORMAL = protocol.CLOSE_NORMAL
CLOSE_GOING_AWAY = protocol.CLOSE_GOING_AWAY
# What an HTTP request that cannot open a session answers, by the close code a
# socket would get.
STATUS_FOR_CLOSE = {
    protocol.CLOSE_UNAUTHENTICATED: 401,
    protocol.CLOSE_FORBIDDEN: 403,
    protocol.CLOSE_TOO_MANY: 429,
    protocol.CLOSE_TRY_AGAIN_LATER: 503,
}
REASONS = {
    CLOSE_NORMAL: "closed",
    CLOSE_GOING_AWAY: "no poll for too long",
    protocol.CLOSE_SERVICE_RESTART: "reconnect and resync",
    protocol.CLOSE_TRY_AGAIN_LATER: "too much waiting for the client; reconnect",
    protocol.CLOSE_UNAUTHENTICATED: "log in again",
    protocol.CLOSE_FORBIDDEN: "this account may not chat",
    protocol.CLOSE_TOO_MANY: "too many sessions",
}


class PollCarrier:
    """A long-poll session's carrier: frames wait in an outbox for the next GET."""

    def __init__(self, sid: str, user_id: int, login_key: str) -> None:
        self.sid = sid
        self.user_id = user_id
        self.login_key = login_key  # the Django session it was opened with
        self.outbox: deque[str] = deque()
        self.outbox_bytes = 0
        self.waiter: asyncio.Future | None = None  # the GET waiting for frames
        self.last_poll = time.monotonic()
        self.paused_until = 0.0
        self.closed_with: int | None = None
        self.closed_at = 0.0
        self.session: Session | None = None
        self.receiving: asyncio.Task | None = None
        self.leaving: asyncio.Task | None = None
        # A session handles its client's frames one at a time, in the order they
        # came, as a socket does, however many POSTs are in flight.
        self.handling = asyncio.Lock()

    # --- The session's carrier ------------------------------------------------

    async def send_text(self, text: str) -> None:
        if self.closed_with is not None:
            return
        # Every frame out passes here: what waits for a client that does not
        # poll is bounded like a socket's buffer (CHAT_MAX_SOCKET_BUFFER).
        size = len(text.encode())
        if self.outbox and self.outbox_bytes + size > settings.CHAT_MAX_SOCKET_BUFFER:
            logger.warning("long-poll session ended: its client stopped polling")
            await self.end(protocol.CLOSE_TRY_AGAIN_LATER)
            return
        self.outbox.append(text)
        self.outbox_bytes += size
        self._wake()

    async def send_broadcast(self, event: dict[str, Any]) -> None:
        await self.send_text(event["text"])

    async def end(self, code: int) -> None:
        if self.closed_with is not None:
            return
        self.closed_with = code
        self.closed_at = time.monotonic()
        self._wake()
        # A socket's consumer leaves its rooms when the server says it is gone;
        # here nothing else would. (Kept: the loop holds tasks only weakly.)
        self.leaving = asyncio.get_running_loop().create_task(self._leave(code))

    def pause_reading(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    # --- Requests --------------------------------------------------------------

    def take(self) -> list[str]:
        frames = list(self.outbox)
        self.outbox.clear()
        self.outbox_bytes = 0
        return frames

    async def wait(self, seconds: float) -> list[str]:
        """The frames ready now, or the first to come within `seconds`."""
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)  # a newer GET takes over
        self.last_poll = time.monotonic()
        if not self.outbox and self.closed_with is None and seconds > 0:
            waiter = asyncio.get_running_loop().create_future()
            self.waiter = waiter
            try:
                async with asyncio.timeout(seconds):
                    await waiter
            except TimeoutError:
                pass
            finally:
                if self.waiter is waiter:
                    self.waiter = None
        self.last_poll = time.monotonic()
        return self.take()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def _leave(self, code: int) -> None:
        layer = worker.channel_layer()
        session = self.session
        if detach := getattr(layer, "detach", None):
            detach(session.channel_name)
        if self.receiving is not None:
            self.receiving.cancel()
        try:
            await session.leave(code)
        finally:
            await worker.release_channel(session.channel_name)

    async def receive_layer(self) -> None:
        """Hand the channel layer's messages for this session to it, as channels
        does for a consumer (the attached direct path takes most broadcasts)."""
        session = self.session
        layer = worker.channel_layer()
        while self.closed_with is None:
            try:
                message = await layer.receive(session.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                worker.layer_failed(error)
                await asyncio.sleep(1)
                continue
            # As the attached path does: held while a join's reply is made.
            if not await session.deliver(message) and message["type"] == CONTROL:
                await session.on_control(message)


# --- This worker's sessions ---------------------------------------------------------

_sessions: dict[str, PollCarrier] = {}


async def reap(sessions: list[Any]) -> None:
    """End the sessions nobody polls, and forget ended ones after ENDED_KEPT (a
    worker job: chat.infra.worker.every)."""
    now = time.monotonic()
    for sid, carrier in list(_sessions.items()):
        if carrier.closed_with is not None:
            if now - carrier.closed_at > ENDED_KEPT:
                del _sessions[sid]
        elif carrier.waiter is None and now - carrier.last_poll > IDLE_LIMIT:
            await carrier.end(CLOSE_GOING_AWAY)


def open_sessions() -> int:
    return sum(1 for c in _sessions.values() if c.closed_with is None)


# --- Views ----------------------------------------------------------------------------


def _closed(code: int, status: int = 410) -> JsonResponse:
    return JsonResponse(
        {"close": code, "reason": REASONS.get(code, "closed")}, status=status
    )


def _frames(texts: list[str]) -> HttpResponse:
    # The frames are JSON already: join them rather than decode and encode again.
    body = '{"frames":[' + ",".join(texts) + "]}"
    return HttpResponse(body, content_type="application/json")


async def _refusal(request: HttpRequest) -> int:
    user_id = await worker.in_db_thread(request.session.get)(SESSION_KEY)
    return await refusal_code(user_id)


async def _user(request: HttpRequest) -> Any:
    """The logged-in user of the request, read in the worker's database threads
    as a socket's handshake is: a request's own thread would hold a connection
    of its own (a herd of 200 clients reopening took PostgreSQL past
    max_connections)."""
    user = await worker.in_db_thread(get_user)(request)
    return user if user.is_authenticated else None


def _same_login(request: HttpRequest, carrier: "PollCarrier") -> bool:
    """Whether the request carries the login session the long-poll session was
    opened with. Like a socket, a long-poll session is authenticated once, when
    it opens; logging out, a new password, a deactivation or a ban end it through
    the user's and the session's groups, as they close sockets."""
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    return hmac.compare_digest(cookie.encode(), carrier.login_key.encode())


def _origin_refused(request: HttpRequest) -> bool:
    """The WebSocket handshake's origin rule, for every request: a page of
    another origin cannot take a member's frames or send in their name."""
    return not request_origin_allowed(request)


@require_http_methods(["POST"])
async def poll_open(request: HttpRequest) -> HttpResponse:
    if _origin_refused(request):
        return JsonResponse({"close": protocol.CLOSE_FORBIDDEN}, status=403)
    user = await _user(request)
    if user is None:
        code = await _refusal(request)
        return JsonResponse({"close": code}, status=STATUS_FOR_CLOSE[code])
    layer = worker.channel_layer()
    sid = secrets.token_urlsafe(24)
    login_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    carrier = PollCarrier(sid, user.pk, login_key)
    channel_name = await layer.new_channel("poll.")
    session = Session(carrier, channel_name)
    carrier.session = session
    if attach := getattr(layer, "attach", None):
        attach(channel_name, session)
    carrier.receiving = asyncio.get_running_loop().create_task(carrier.receive_layer())
    try:
        refused = await session.open(user, request.session.session_key)
    finally:
        await session.flush_held()
    if refused is not None:
        await carrier.end(refused)
        return JsonResponse({"close": refused}, status=STATUS_FOR_CLOSE[refused])
    _sessions[sid] = carrier
    worker.every(lambda: REAP_EVERY, reap, key="longpoll")
    texts = carrier.take()
    return _frames_with_sid(sid, texts)


def _frames_with_sid(sid: str, texts: list[str]) -> HttpResponse:
    body = '{"sid":' + json.dumps(sid) + ',"frames":[' + ",".join(texts) + "]}"
    return HttpResponse(body, content_type="application/json")


@require_http_methods(["GET", "POST", "DELETE"])
async def poll_session(request: HttpRequest, sid: str) -> HttpResponse:
    if _origin_refused(request):
        return JsonResponse({"close": protocol.CLOSE_FORBIDDEN}, status=403)
    carrier = _sessions.get(sid)
    if carrier is None:
        # Not this worker's (it restarted, or the request reached another): as
        # after a restart, open a new session and resync.
        return _closed(protocol.CLOSE_SERVICE_RESTART)
    if not _same_login(request, carrier):
        # Another login's sid (another user, or this browser logged in again):
        # as an unknown one, it reveals nothing.
        return _closed(protocol.CLOSE_SERVICE_RESTART)
    if carrier.session.user is not None:
        logcontext.bind(user=carrier.session.username, conn=carrier.session.conn)
    if request.method == "DELETE":
        await carrier.end(CLOSE_NORMAL)
        return _closed(CLOSE_NORMAL, status=200)
    if request.method == "POST":
        return await _post(request, carrier)
    return await _get(request, carrier)


async def _get(request: HttpRequest, carrier: PollCarrier) -> HttpResponse:
    if carrier.closed_with is not None and not carrier.outbox:
        return _closed(carrier.closed_with)
    try:
        wait = float(request.GET.get("wait", WAIT_MAX))
    except ValueError:
        return JsonResponse({"error": "'wait' is a number of seconds"}, status=400)
    wait = min(max(wait, 0.0), WAIT_MAX)
    frames = await carrier.wait(wait)
    if not frames and wait < SPIN_WAIT:
        # A poll that brings frames, or waits for them, is the transport's read
        # and free, as reading a socket is. One that asks for nothing, again and
        # again, is paid for like a frame: over budget, its answers slow down.
        try:
            await ratelimit.check(carrier.user_id, "request", 1)
        except ChatError as error:
            await asyncio.sleep(min(error.extra["retryAfter"], dispatch.PAUSE_MAX))
    return _frames(frames)


async def _post(request: HttpRequest, carrier: PollCarrier) -> HttpResponse:
    if carrier.closed_with is not None:
        return _closed(carrier.closed_with)
    if len(request.body) > settings.CHAT_MAX_FRAME_BYTES:
        return JsonResponse(
            {"close": protocol.CLOSE_TOO_BIG, "reason": "request too big"}, status=413
        )
    try:
        frames = protocol.loads(request.body.decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        frames = None
    if not isinstance(frames, list) or len(frames) > FRAMES_PER_POST:
        return JsonResponse(
            {"error": f"send a JSON array of at most {FRAMES_PER_POST} frames"},
            status=400,
        )
    session = carrier.session
    async with carrier.handling:
        for frame in frames:
            if carrier.closed_with is not None:
                break
            if (pause := carrier.paused_until - time.monotonic()) > 0:
                await asyncio.sleep(pause)
            # Each frame as the socket would have read it: the same parser, the
            # same limits (a NUL or a lone surrogate stays an escape, refused).
            text = json.dumps(frame)
            try:
                await dispatch.handle(session, text)
            finally:
                await session.flush_held()
    # Replies go with the next GET when one is waiting (frames reach the client
    # in one order); otherwise here.
    if carrier.waiter is not None:
        return _frames([])
    return _frames(carrier.take())
