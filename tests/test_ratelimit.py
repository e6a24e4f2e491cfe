"""Token buckets (chat/ratelimit.py), against memory and, with REDIS_URL, Redis.

The Redis runs also check what memory cannot give: one user's bucket shared by two
event loops with clients of their own, as two workers would have.
"""

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings as django_settings

from chat.domain.errors import ChatError
from chat.infra import ratelimit

needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs REDIS_URL"
)


@pytest.fixture(params=["memory", pytest.param("redis", marks=needs_redis)])
async def store(request, settings):
    """Which store the test runs against; its connection is closed afterwards."""
    if request.param == "memory":
        settings.REDIS_URL = ""
    ratelimit.reset()
    yield request.param
    await ratelimit.close()
    ratelimit.reset()


@pytest.fixture
def limits(settings):
    """Set CHAT_RATE_LIMITS for the test: limits(message=(rate, burst), ...)."""

    def set_limits(**kinds: tuple[float, int]) -> None:
        settings.CHAT_RATE_LIMITS = {**django_settings.CHAT_RATE_LIMITS, **kinds}

    return set_limits


async def allowed(user_id: int, kind: str, times: int) -> int:
    """How many of `times` checks in a row pass."""
    passed = 0
    for _ in range(times):
        try:
            await ratelimit.check(user_id, kind)
        except ChatError as error:
            assert error.code == "rate_limited"
            continue
        passed += 1
    return passed


async def refusal(user_id: int, kind: str) -> ChatError:
    with pytest.raises(ChatError) as caught:
        await ratelimit.check(user_id, kind)
    return caught.value


# --- Both stores ----------------------------------------------------------------------


async def test_default_message_limit_is_a_burst_of_ten_at_five_a_second(store):
    assert django_settings.CHAT_RATE_LIMITS["message"] == (5.0, 10)
    for _ in range(10):
        await ratelimit.check(1, "message")
    error = await refusal(1, "message")
    assert error.code == "rate_limited"
    # The 10 checks took a few ms, so the next token is nearly 1/5 s away.
    assert 0.1 < error.extra["retryAfter"] <= 0.2
    assert error.msg == (
        f"too many message events; try again in {error.extra['retryAfter']} s"
    )


async def test_a_refused_check_takes_nothing(store, limits):
    limits(message=(10.0, 1))
    await ratelimit.check(1, "message")
    for _ in range(5):
        await refusal(1, "message")
    await asyncio.sleep(0.12)
    await ratelimit.check(1, "message")


async def test_waiting_retry_after_is_enough(store, limits):
    limits(message=(20.0, 2))
    assert await allowed(1, "message", 3) == 2
    wait = (await refusal(1, "message")).extra["retryAfter"]
    assert 0 < wait <= 0.05
    await asyncio.sleep(wait + 0.005)
    await ratelimit.check(1, "message")
    await refusal(1, "message")


async def test_bucket_refills_at_the_rate_up_to_the_burst(store, limits):
    limits(message=(50.0, 3))
    assert await allowed(1, "message", 5) == 3
    await asyncio.sleep(0.25)  # 12.5 tokens' worth, capped at 3
    assert await allowed(1, "message", 5) == 3


async def test_kinds_have_buckets_of_their_own(store, limits):
    limits(message=(0.01, 2), typing=(0.01, 3), join=(0.01, 1))
    assert await allowed(1, "message", 5) == 2
    assert await allowed(1, "typing", 5) == 3
    assert await allowed(1, "join", 5) == 1


async def test_users_have_buckets_of_their_own(store, limits):
    limits(message=(0.01, 2))
    assert await allowed(1, "message", 5) == 2
    assert await allowed(2, "message", 5) == 2
    await refusal(1, "message")


async def test_an_unknown_kind_is_a_programming_error(store):
    with pytest.raises(KeyError):
        await ratelimit.check(1, "shouting")


async def test_reset_gives_full_buckets(store, limits):
    limits(message=(0.01, 1))
    await ratelimit.check(1, "message")
    await refusal(1, "message")
    if store == "redis":
        # Redis buckets outlive reset(); each test has a key prefix of its own.
        django_settings.CHAT_REDIS_PREFIX += ":after-reset"
    await ratelimit.close()
    ratelimit.reset()
    await ratelimit.check(1, "message")


# --- Memory, on a patched clock -------------------------------------------------------


@pytest.fixture
def clock(monkeypatch, settings):
    settings.REDIS_URL = ""
    ratelimit.reset()
    now = [1000.0]
    monkeypatch.setattr(ratelimit, "_clock", lambda: now[0])
    return now


async def test_memory_refill_is_exact(clock, limits):
    limits(message=(4.0, 2))
    assert await allowed(7, "message", 3) == 2
    assert (await refusal(7, "message")).extra["retryAfter"] == 0.25
    clock[0] += 0.125
    assert (await refusal(7, "message")).extra["retryAfter"] == 0.125
    clock[0] += 0.125
    await ratelimit.check(7, "message")
    clock[0] += 3600
    assert await allowed(7, "message", 5) == 2


# --- Redis ----------------------------------------------------------------------------


@pytest.fixture
async def redis_store():
    ratelimit.reset()
    yield
    await ratelimit.close()
    ratelimit.reset()


@needs_redis
async def test_redis_bucket_is_one_key_under_the_prefix_that_expires(
    redis_store, limits
):
    import redis.asyncio

    limits(message=(5.0, 10))
    await ratelimit.check(42, "message")
    client = redis.asyncio.Redis.from_url(django_settings.REDIS_URL)
    try:
        keys = await client.keys(f"{django_settings.CHAT_REDIS_PREFIX}:*")
        assert keys == [f"{django_settings.CHAT_REDIS_PREFIX}:rate:message:42".encode()]
        # Full again after burst / rate = 2 s; the key is kept no longer than that.
        assert 0 < await client.pttl(keys[0]) <= 3000
    finally:
        await client.aclose()


def run_in_own_loop(work):
    """Run a coroutine function in a new event loop, as another worker would."""

    async def main():
        try:
            return await work()
        finally:
            await ratelimit.close()

    return asyncio.run(main())


@needs_redis
@pytest.mark.usefixtures("db_free_redis_limits")
def test_two_workers_share_one_users_bucket():
    """A user's sockets on two workers draw from one bucket, even at the same time."""
    # One after the other: what the first loop took, the second cannot.
    assert run_in_own_loop(lambda: allowed(1, "message", 6)) == 6
    assert run_in_own_loop(lambda: allowed(1, "message", 10)) == 4

    # Side by side: two loops, 40 attempts, never more than the burst.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(run_in_own_loop, [lambda: allowed(2, "message", 20)] * 2)
        )
    assert sum(results) == 10, results


@pytest.fixture
def db_free_redis_limits(settings):
    """A limit that does not refill during the test (0.001/s), burst 10."""
    settings.CHAT_RATE_LIMITS = {
        **django_settings.CHAT_RATE_LIMITS,
        "message": (0.001, 10),
    }
    ratelimit.reset()
    yield
    ratelimit.reset()


async def test_unreachable_redis_still_limits_in_the_worker_with_a_warning(
    settings, limits, caplog
):
    # Nothing listens on port 1: every check fails to connect.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    ratelimit.reset()
    limits(message=(0.01, 2))
    with caplog.at_level(logging.WARNING, logger="chat.infra.ratelimit"):
        assert await allowed(1, "message", 5) == 2
    warnings = [r for r in caplog.records if r.name == "chat.infra.ratelimit"]
    assert len(warnings) == 1  # once, not once per event
    assert "Redis unreachable" in warnings[0].getMessage()
    await ratelimit.close()
    ratelimit.reset()


async def test_an_event_can_cost_several_tokens(store, limits):
    limits(request=(0.001, 20))
    await ratelimit.check(1, "request", cost=11)
    refused = await refusal_of(1, "request", cost=11)
    assert refused.extra["retryAfter"] > 0
    # Refused, it took nothing: what is left still buys a cheaper event.
    await ratelimit.check(1, "request", cost=9)
    assert (await refusal_of(1, "request", cost=1)).code == "rate_limited"


async def refusal_of(user_id: int, kind: str, cost: float) -> ChatError:
    with pytest.raises(ChatError) as caught:
        await ratelimit.check(user_id, kind, cost=cost)
    return caught.value


async def test_a_client_that_ignores_retry_after_costs_no_more_round_trips(
    store, limits, monkeypatch
):
    limits(request=(0.001, 5))
    chosen = ratelimit._store()
    takes = 0
    real_take = chosen.take

    async def counted_take(*args):
        nonlocal takes
        takes += 1
        return await real_take(*args)

    monkeypatch.setattr(chosen, "take", counted_take)
    assert await allowed(3, "request", 100) == 5
    # Five taken, one refused by the store; the other 94 refused before it.
    assert takes == 6
    await ratelimit.check(4, "request")  # another user still reaches the store
    assert takes == 7
