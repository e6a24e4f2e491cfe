"""What this worker counts for /metrics (Prometheus text format).

Each daphne worker is its own process with its own counters: scrape every worker
on its own port (docs/DEPLOY.md); `chat_worker_info` names it.
"""

import functools

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

from chat.infra import worker
from chat.infra.fast import guard

REGISTRY = CollectorRegistry(auto_describe=True)

worker_info = Info("chat_worker", "This worker process", registry=REGISTRY)
sockets_open = Gauge(
    "chat_sockets_open",
    "Authenticated WebSockets open on this worker",
    registry=REGISTRY,
)
sockets_open.set_function(worker.open_sockets)
sockets_opened = Counter(
    "chat_sockets_opened", "Authenticated WebSockets accepted", registry=REGISTRY
)
sockets_closed = Counter(
    "chat_sockets_closed",
    "WebSockets closed, by close code",
    ["code"],
    registry=REGISTRY,
)
sockets_overloaded = Counter(
    "chat_sockets_overloaded",
    "WebSockets closed with 1013 because their client stopped reading",
    registry=REGISTRY,
)
messages_sent = Counter(
    "chat_messages",
    "Messages stored and acknowledged (kind: room or direct); rate() for per second",
    ["kind"],
    registry=REGISTRY,
)
ack_latency = Histogram(
    "chat_ack_latency_seconds",
    "Time from a frame's arrival to its ack or error reply, by event",
    ["event"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
# Labelled children looked up once: a message's ack and count are on the hot path.
room_messages = messages_sent.labels(kind="room")
direct_messages = messages_sent.labels(kind="direct")
group_messages = messages_sent.labels(kind="group")


@functools.cache
def ack_latency_of(event: str) -> Histogram:
    """`ack_latency` for one event (the consumer's handlers: a bounded set)."""
    return ack_latency.labels(event=event)


errors = Counter(
    "chat_errors",
    "Error replies sent to clients, by error code",
    ["code"],
    registry=REGISTRY,
)
layer_up = Gauge(
    "chat_layer_up",
    "1 while the channel layer delivers, 0 while it is down",
    registry=REGISTRY,
)
layer_up.set_function(lambda: 1 if worker.layer_is_up_anywhere() else 0)
fast_path = Gauge(
    "chat_fast_path",
    "1 while a fast path is in use: the installed packages have every internal it"
    " uses, on their classes and on a live instance (chat.infra.fast.guard); 0 while"
    " it is off (logged) or not used yet",
    ["path"],
    registry=REGISTRY,
)


def exposition() -> tuple[bytes, str]:
    """The metrics page's body and content type."""
    worker_info.info({"worker": worker.name()})
    for path in guard.paths():
        fast_path.labels(path=path.name).set(1 if path.state == guard.ON else 0)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


gc_passes = Counter(
    "chat_gc_passes",
    "Garbage collections run on the clock (chat.infra.collector), by generation",
    ["generation"],
    registry=REGISTRY,
)
gc_unreachable = Counter(
    "chat_gc_unreachable",
    "Objects in reference cycles those collections found unreachable (and freed)",
    registry=REGISTRY,
)
