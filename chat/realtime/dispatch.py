"""One client frame in, its replies and events out, whatever the transport: parse,
charge the user's budgets, run the event's handler (chat.realtime.handlers),
answer with an ack or an error. Handlers register with `@handles`."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chat.domain.errors import ChatError
from chat.infra import metrics, ratelimit, worker
from chat.realtime import protocol
from chat.realtime.session import Session

logger = logging.getLogger(__name__)

# Longest pause in reading a rate-limited client's frames: well inside the ping
# timeout, since its pongs wait too.
PAUSE_MAX = 5.0
# Events whose reply must reach the client before the broadcasts that arrive while
# they are handled: a join's history and seq cover them (the client learns the room
# from the reply). Other broadcasts go out as they come, a sender's own included:
# holding them behind its ack cost every member up to an ack's time under load.
REPLY_FIRST = frozenset({"join_room"})

Reply = dict[str, Any]
Handler = Callable[[Session, dict[str, Any]], Awaitable[Reply]]
Cost = float | Callable[[dict[str, Any]], float]


@dataclass(frozen=True)
class Charge:
    """What a client event takes from its user's budgets (chat.infra.ratelimit):
    `cost` tokens of the "request" budget every event draws on, and one token of
    the event's own kind, if it has one. An event that `stores` a change is paid
    for as the last step before storing (worker.before_storing): within a
    deadline, and only while the layer can broadcast the change."""

    cost: Cost = 1
    kind: str | None = None
    stores: bool = False

    def of(self, data: dict[str, Any]) -> float:
        return self.cost(data) if callable(self.cost) else self.cost


HANDLERS: dict[str, Handler] = {}
CHARGES: dict[str, Charge] = {}


def handles(
    event: str, cost: Cost = 1, kind: str | None = None, stores: bool = False
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[event] = handler
        CHARGES[event] = Charge(cost, kind, stores)
        return handler

    return register


def rows_cost(rows: int) -> float:
    """A read's cost in request tokens: one, and one for every ten rows."""
    return 1 + rows / 10


async def handle(session: Session, text: str | None) -> None:
    """Handle one client frame (`text` None: a binary frame, which v1 refuses);
    every outcome is answered, an unexpected failure with server_error."""
    ack = None
    event = "-"
    started = time.perf_counter()
    try:
        if text is None:
            raise ChatError(
                "bad_frame", "binary frames are not supported; send JSON text"
            )
        frame = protocol.parse_frame(text)
        ack = frame.ack
        handler = HANDLERS.get(frame.event)
        if handler is None:
            raise ChatError("unknown_event", f"unknown event '{frame.event[:50]}'")
        event = frame.event
        await charge(session, event, frame.data)
        if event in REPLY_FIRST:
            session.hold()
        reply = await handler(session, frame.data)
        if ack is not None:
            await session.send_frame(protocol.ack_frame(ack, **reply))
    except ChatError as error:
        await session.send_error(error, error.extra.get("ack", ack))
    except worker.LAYER_ERRORS as error:
        worker.layer_failed(error)
        await session.send_error(worker.unavailable(), ack)
    except Exception:
        logger.exception("%s failed", event)
        error = ChatError("server_error", "the server could not handle this frame")
        await session.send_error(error, ack)
    if event in HANDLERS:
        metrics.ack_latency_of(event).observe(time.perf_counter() - started)


async def charge(session: Session, event: str, data: dict[str, Any]) -> None:
    """Take what `event` costs from the user's budgets, or raise rate_limited:
    every event is paid for, so no kind of frame can be sent without bound."""
    charge = CHARGES[event]
    try:
        if charge.stores:
            await worker.before_storing(pay, session.user_id, charge, data)
        else:
            await pay(session.user_id, charge, data)
    except ChatError as error:
        if error.code == "rate_limited":
            # Read nothing more from this client until it may be let in: one
            # that ignores retryAfter (a loop asking again at once) then costs a
            # refusal per retryAfter, not one per round trip.
            session.carrier.pause_reading(min(error.extra["retryAfter"], PAUSE_MAX))
        raise


async def pay(user_id: int, charge: Charge, data: dict[str, Any]) -> None:
    request = ratelimit.check(user_id, "request", charge.of(data))
    if charge.kind is None:
        await request
        return
    # Both takes in the same round trip to Redis (chat.infra.fast.batching).
    taken = await asyncio.gather(
        request, ratelimit.check(user_id, charge.kind), return_exceptions=True
    )
    for outcome in taken:
        if isinstance(outcome, BaseException):
            raise outcome


# Every handler module registers its events on import.
from chat.realtime import handlers  # noqa: E402, F401
