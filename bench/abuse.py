"""`python -m bench abuse`: what one member flooding a worker costs another.

A victim sends a message every --interval seconds and times each ack, first while
the worker is quiet, then while an abuser's --sockets sockets (one user) each ask
for a history page of 100 long messages over and over, as fast as the answers
come (rate-limited answers included: an attacker does not wait), and open a new
socket whenever one is closed. Reports the victim's ack p50/p99 in both phases
and their ratio, and how many of the abuser's requests were served or refused and
how often its sockets were closed.

The room is filled first with 100 messages of 4,000 characters (about 400 KB a
page). Run it against a worker of bench/serve.sh; with
CHAT_RATE_REQUESTS_PER_SECOND=1000000 CHAT_DB_THREADS_PER_USER=8 on the worker
it shows what the abuse cost before the request budget and the per-user
database threads.
"""

import asyncio
import secrets
import statistics
import time

from websockets.exceptions import ConnectionClosed

from . import chat_client

LONG = "x" * 4000


async def run(base_url: str, duration: float, sockets: int, interval: float) -> dict:
    victim_id, abuser_id = chat_client.prepare_identities(base_url, 2, "")
    room = f"abuse-{secrets.token_hex(3)}"
    victim = await chat_client.Connection.open(base_url, victim_id, _ignore)
    await victim.join(room)
    for _ in range(100):
        await victim.send(room, LONG)
    quiet = await _acks(victim, room, duration, interval)
    tally = {"served": 0, "refused": 0, "failed": 0, "closed": 0}
    stop = asyncio.Event()
    loops = [
        asyncio.create_task(_flood(base_url, abuser_id, room, stop, tally))
        for _ in range(sockets)
    ]
    await asyncio.sleep(1)  # the flood under way
    abused = await _acks(victim, room, duration, interval)
    stop.set()
    await asyncio.gather(*loops)
    await victim.close()
    return {
        "quiet": quiet,
        "abused": abused,
        "p99_ratio": round(abused["p99_ms"] / quiet["p99_ms"], 2),
        "abuser": {**tally, "sockets": sockets},
    }


async def _acks(conn, room: str, duration: float, interval: float) -> dict:
    """Send every `interval` s for `duration` s; the acks' latency."""
    times = []
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        times.append(await conn.send(room, "still here"))
        await asyncio.sleep(interval)
    times.sort()
    return {
        "acks": len(times),
        "p50_ms": round(1000 * statistics.median(times), 1),
        "p99_ms": round(1000 * times[int(0.99 * (len(times) - 1))], 1),
        "max_ms": round(1000 * times[-1], 1),
    }


async def _flood(
    base_url: str, identity: dict, room: str, stop: asyncio.Event, tally: dict
) -> None:
    """One of the abuser's sockets, opened again each time the server closes it."""
    while not stop.is_set():
        try:
            conn = await chat_client.Connection.open(base_url, identity, _ignore)
        except Exception:
            tally["failed"] += 1
            await asyncio.sleep(0.01)
            continue
        while not stop.is_set():
            try:
                await conn.request("get_history", {"room": room, "limit": 100})
                tally["served"] += 1
            except chat_client.PeerError as error:
                tally["refused" if error.code == "rate_limited" else "failed"] += 1
            except (ConnectionError, ConnectionClosed, TimeoutError):
                tally["closed"] += 1
                break
        await conn.close()


def main(base_url: str, duration: float, sockets: int, interval: float) -> dict:
    result = asyncio.run(run(base_url, duration, sockets, interval))
    quiet, abused = result["quiet"], result["abused"]
    print(f"victim acks, quiet:  p50 {quiet['p50_ms']} ms, p99 {quiet['p99_ms']} ms")
    print(f"victim acks, abused: p50 {abused['p50_ms']} ms, p99 {abused['p99_ms']} ms")
    print(f"p99 ratio {result['p99_ratio']}; abuser {result['abuser']}")
    return result


def _ignore(_: str) -> None:
    pass
