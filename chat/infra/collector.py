"""The cyclic garbage collector on a clock, where the launchers have slowed it.

The launchers freeze what start-up made and raise the collector's thresholds
(chatproject/servers/startup.py: its frequent passes cost a busy worker's p99
latency). But every closed connection leaves its objects in reference cycles
(daphne's protocol, transport and HTTP channel, autobahn's state, the consumer and
its session, the user: about 90 objects), which only the collector frees; and its
thresholds count allocations net of frees, which a worker with steady churn and
moderate traffic did not reach in 10 minutes, so closed connections' memory piled
up (docs/BENCHMARKS.md, "Soak"). So the young generations are collected at least
every CHAT_GC_EVERY seconds (60), and every generation every FULL_EVERY-th time: a few
milliseconds, and about 50 ms for the full pass of a worker with 130,000 live
objects, once in 10 minutes.
"""

import gc
import logging
import time
from typing import Any

from django.conf import settings

from chat.infra import metrics

logger = logging.getLogger(__name__)

FULL_EVERY = 10  # young collections

_on = False
_passes = 0


def start() -> None:
    """Collect on the clock in this process (the launchers call it with tune_gc)."""
    global _on
    _on = True


def is_on() -> bool:
    return _on


def interval() -> float:
    return settings.CHAT_GC_EVERY


async def collect(_sockets: list[Any]) -> None:
    """One pass (a chat.infra.worker.every job): the young generations, or every
    generation each FULL_EVERY-th time."""
    global _passes
    _passes += 1
    generation = 2 if _passes % FULL_EVERY == 0 else 1
    started = time.perf_counter()
    freed = gc.collect(generation)
    metrics.gc_passes.labels(str(generation)).inc()
    metrics.gc_unreachable.inc(freed)
    logger.debug(
        "gc generation %d: %d unreachable, %.1f ms",
        generation,
        freed,
        (time.perf_counter() - started) * 1000,
    )
