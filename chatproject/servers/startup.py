"""What every launcher does once, before its server serves a request."""

import gc

from django.conf import settings

LAYER_BACKEND = "chat.infra.fast.layers.WatchedPubSubChannelLayer"


def prepare(server: str) -> None:
    """Build the application, install `server`'s patches, check every fast path
    (logging what is on and off), then freeze what start-up made.

    Exits (SystemExit) when the channel layer cannot run on the installed
    channels_redis (see chat.infra.fast.layers)."""
    import chatproject.asgi  # noqa: F401  the app, before the checks and the freeze
    from chat.infra.fast import guard, layers, redispipe, wire

    if server == "daphne":
        from chatproject.servers import daphne_close_codes, daphne_liveness

        daphne_close_codes.install()
        daphne_liveness.install()
        wire.check_daphne()
    else:
        wire.check_uvicorn()
    if settings.REDIS_URL:  # the rate limiter's pipe, and the layer's
        redispipe.check()
    if settings.CHANNEL_LAYERS["default"]["BACKEND"] == LAYER_BACKEND:
        try:
            layers.refuse_unless_checked()
        except Exception as error:
            raise SystemExit(f"not starting: {error}") from error
    guard.log_summary()
    from chat.infra import jobs

    jobs.start_in_process()  # the embedded default's jobs: no other process
    tune_gc()


def tune_gc() -> None:
    # A busy worker allocates a few objects per frame and keeps many for long (its
    # sockets' consumers, tasks, Django's modules); the collector's frequent passes
    # over them took its p99 latency at 40,000 deliveries/s from 38 ms to 96 ms
    # (docs/BENCHMARKS.md). What start-up made is never garbage: frozen, the
    # collector skips it; and the youngest generation is collected every 50,000
    # allocations, not every 700.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    # ...and on a clock too: closed connections are garbage in cycles, which
    # these thresholds alone left for many minutes (chat.infra.collector).
    from chat.infra import collector

    collector.start()
