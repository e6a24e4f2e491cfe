"""One load-generator process: its share of the clients, each a socket in a room.

The parent (bench/__main__.py) starts several of these so the generator is not
the bottleneck. Protocol with the parent, over a multiprocessing Pipe:
  child -> ("ready", {...}) once its sockets are open and joined (or ("failed", msg));
  parent -> ("start", epoch_seconds, rate_per_client, duration, drain);
  child -> ("result", {...}) at the end.
Progress (sends, deliveries) goes through a shared array the parent reads.

A message body is "<send time ns> <client> <n>": the receiver computes the
delivery latency from it (all processes share the machine's clock).
"""

import asyncio
import importlib
import os
import resource
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Slice:
    """What one process runs: clients (global index, identity, room)."""

    peer: str  # module path of the client: bench.chat_client, ...
    base_urls: list[str]  # client i opens its socket on base_urls[i % len]
    clients: list[tuple[int, dict, str]]
    connect_concurrency: int = 50


@dataclass
class Tally:
    sent: int = 0
    acked: int = 0
    deliveries: int = 0
    duplicates: int = 0
    latencies_us: list[int] = field(default_factory=list)
    ack_latencies_us: list[int] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    # message key -> deliveries of it to this process's sockets (deduplicated)
    received: Counter = field(default_factory=Counter)
    acked_keys: list[str] = field(default_factory=list)


def run(slice_: Slice, pipe, progress, slot: int) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_main(slice_, pipe, progress, slot))


async def _main(slice_: Slice, pipe, progress, slot: int) -> None:
    peer = importlib.import_module(slice_.peer)
    tally = Tally()
    sockets: list = []
    seen: list[set[str]] = []

    def receiver(index: int):
        keys = set()
        seen.append(keys)

        def on_message(body: str) -> None:
            now = time.time_ns()
            sent_ns, _, key = body.partition(" ")
            if key in keys:
                tally.duplicates += 1
                return
            keys.add(key)
            tally.deliveries += 1
            tally.received[key] += 1
            tally.latencies_us.append((now - int(sent_ns)) // 1000)

        return on_message

    opened = time.monotonic()
    limit = asyncio.Semaphore(slice_.connect_concurrency)

    async def open_one(index: int, identity: dict, room: str):
        async with limit:
            conn = await peer.Connection.open(
                slice_.base_urls[index % len(slice_.base_urls)],
                identity,
                receiver(index),
            )
            await conn.join(room)
            return conn

    try:
        sockets = await asyncio.gather(
            *(open_one(i, ident, room) for i, ident, room in slice_.clients)
        )
    except Exception as error:
        pipe.send(("failed", f"{error.__class__.__name__}: {error}"))
        return
    pipe.send(("ready", {"connect_seconds": time.monotonic() - opened}))

    command = await asyncio.to_thread(pipe.recv)
    if command[0] != "start":
        await _close(sockets)
        return
    _, start_epoch, rate_per_client, duration, drain = command
    ticker = asyncio.create_task(_report_progress(tally, progress, slot))
    cpu_before = _cpu_seconds()
    await asyncio.sleep(max(0.0, start_epoch - time.time()))
    senders = [
        asyncio.create_task(
            _send_steadily(conn, index, room, rate_per_client, duration, tally)
        )
        for conn, (index, _, room) in zip(sockets, slice_.clients, strict=True)
    ]
    await asyncio.gather(*senders)
    await asyncio.sleep(drain)
    cpu = _cpu_seconds() - cpu_before
    ticker.cancel()
    await _close(sockets)
    pipe.send(
        (
            "result",
            {
                "sent": tally.sent,
                "acked": tally.acked,
                "deliveries": tally.deliveries,
                "duplicates": tally.duplicates,
                "latencies_us": tally.latencies_us,
                "ack_latencies_us": tally.ack_latencies_us,
                "errors": dict(tally.errors),
                "received": dict(tally.received),
                "acked_keys": tally.acked_keys,
                "cpu_seconds": cpu,
                "pid": os.getpid(),
            },
        )
    )


async def _send_steadily(
    conn, index: int, room: str, rate: float, duration: float, tally: Tally
) -> None:
    """Send at `rate` per second for `duration` seconds, on a fixed schedule (a
    late send does not push the next ones back), each awaited in its own task."""
    if rate <= 0:
        return
    loop = asyncio.get_running_loop()
    interval = 1.0 / rate
    # Spread the clients' first sends over one interval.
    start = loop.time() + (index * 0.6180339887 % 1.0) * interval
    end = start + duration
    pending: set[asyncio.Task] = set()
    n = 0
    while (due := start + n * interval) < end:
        await asyncio.sleep(max(0.0, due - loop.time()))
        key = f"{index}:{n}"
        task = asyncio.create_task(_send_one(conn, room, key, tally))
        pending.add(task)
        task.add_done_callback(pending.discard)
        n += 1
    if pending:
        await asyncio.wait(pending, timeout=30)


async def _send_one(conn, room: str, key: str, tally: Tally) -> None:
    tally.sent += 1
    try:
        ack_seconds = await conn.send(room, f"{time.time_ns()} {key}")
    except Exception as error:
        tally.errors[getattr(error, "code", error.__class__.__name__)] += 1
        return
    tally.acked += 1
    tally.acked_keys.append(key)
    if ack_seconds is not None:
        tally.ack_latencies_us.append(int(ack_seconds * 1e6))


async def _report_progress(tally: Tally, progress, slot: int) -> None:
    while True:
        progress[2 * slot] = tally.sent
        progress[2 * slot + 1] = tally.deliveries
        await asyncio.sleep(0.25)


async def _close(sockets: list) -> None:
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
