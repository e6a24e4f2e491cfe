"""Token buckets per user and kind of event (CHAT_RATE_LIMITS).

Kept in this process's memory: a user's sockets on one worker share a bucket.
"""

import time
from dataclasses import dataclass

from django.conf import settings

from .errors import ChatError


@dataclass
class Bucket:
    tokens: float
    updated: float


_buckets: dict[tuple[int, str], Bucket] = {}


def check(user_id: int, kind: str) -> None:
    """Take one token for `kind`, or raise ChatError("rate_limited") with a hint."""
    rate, burst = settings.CHAT_RATE_LIMITS[kind]
    now = time.monotonic()
    bucket = _buckets.setdefault((user_id, kind), Bucket(tokens=burst, updated=now))
    bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
    bucket.updated = now
    if bucket.tokens < 1:
        retry_after = round((1 - bucket.tokens) / rate, 3)
        raise ChatError(
            "rate_limited",
            f"too many {kind} events; try again in {retry_after} s",
            retryAfter=retry_after,
        )
    bucket.tokens -= 1


def reset() -> None:
    _buckets.clear()
