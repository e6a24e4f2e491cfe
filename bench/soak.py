"""`python -m bench soak --minutes 30 --rate 2000 --url URL0,URL1 --server-pid P0,P1`:
a steady load for a long time; the workers' memory and file descriptors over it,
and whether any member lost or doubled a message. Not part of CI.

One process of clients (bench.chat_client, users bench-0 ...), member i on URL
i % n, in room i % rooms. Every member sends at its share of --rate (deliveries/s,
all members together). Around them:

- churners leave their room and rejoin it, or drop their socket for a new one,
  every 10 to 30 s; slow readers stop reading for 5 to 15 s every 20 to 40 s,
  then catch up;
- any socket the server closes (1013 for a reader past CHAT_MAX_SOCKET_BUFFER,
  1012) comes back and rejoins with `after` = the highest seq up to which it holds
  everything, as the web client does: a resync, not a loss.

Every --sample seconds, each worker's RSS and open fds (/proc, the pids given and
their children). At the end sending stops, every member rejoins and drains; then,
per member, each acknowledged seq of its room after its first join must be held
(live or from a resync) exactly once.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.chaos import Window

from . import chat_client
from .__main__ import _with_children, percentiles, rss_kib

CHURN_EVERY = (10.0, 30.0)  # seconds between a churner's leave/rejoin or reconnect
PAUSE_EVERY = (20.0, 40.0)  # seconds between a slow reader's pauses
PAUSE_FOR = (5.0, 15.0)


@dataclass
class Member:
    index: int
    identity: dict
    url: str
    room: str
    slow: bool = False  # its latencies are its own pauses: not counted
    window: Window | None = None
    first_floor: int | None = None
    early: list[int] = field(default_factory=list)  # seqs before the first join
    conn: chat_client.Connection | None = None
    joined: bool = False
    live: int = 0
    via_resync: int = 0
    resync_overlap: int = 0
    live_duplicates: int = 0
    resyncs: int = 0  # rejoins after a close by the server
    closes: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    latencies_ms: Counter = field(default_factory=Counter)

    def on_data(self, conn: chat_client.Connection, data: dict) -> None:
        if conn is not self.conn:  # a socket given up on, not yet gone
            self.errors["frame from an abandoned socket"] += 1
            return
        if data["room"] != self.room:
            return
        seq = data["seq"]
        if self.window is None:
            self.early.append(seq)
            return
        if self.window.add(seq):
            self.live += 1
            if not self.slow:
                sent_ns = int(data["message"].partition(" ")[0])
                self.latencies_ms[(time.time_ns() - sent_ns) // 1_000_000] += 1
        else:
            self.live_duplicates += 1

    async def join(self) -> None:
        """Join the room; rejoin with `after`, page by page, as the web client."""
        while True:
            data = {"room": self.room}
            if self.window is not None:
                data["after"] = self.window.floor
            reply = await self.conn.request("join_room", data)
            if self.window is None:
                self.first_floor = reply["seq"]
                self.window = Window(reply["seq"])
                for seq in self.early:
                    self.window.add(seq)
                self.early.clear()
                break
            for message in reply["history"]:
                if self.window.add(message["seq"]):
                    self.via_resync += 1
                else:
                    self.resync_overlap += 1
            if not reply["hasMore"]:
                break
        self.joined = True

    async def connect(self) -> None:
        self.joined = False
        self.conn = conn = await chat_client.Connection.open(
            self.url, self.identity, lambda _: None, lambda d: self.on_data(conn, d)
        )
        try:
            await self.join()
        except Exception:
            abandon(conn)
            raise

    def abandon(self) -> None:
        """Drop a socket whose state is unknown: a request of it went unanswered
        (its worker frozen, say) and may yet be carried out. keep_connected opens
        a new one, which resyncs, as the web client does when its link drops."""
        abandon(self.conn)

    async def keep_connected(self, done: asyncio.Event) -> None:
        """Reconnect and rejoin whenever the socket closes, until `done`."""
        while not done.is_set():
            stop = asyncio.ensure_future(done.wait())
            await asyncio.wait(
                [self.conn.reader, stop], return_when=asyncio.FIRST_COMPLETED
            )
            stop.cancel()
            if done.is_set():
                return
            self.joined = False
            code = self.conn.ws.close_code
            self.closes[code] += 1
            by_server = code != 1000  # not a churner's own close
            while not done.is_set():
                try:
                    await self.connect()
                    break
                except Exception as error:  # refused or dropped: try again
                    self.errors[f"reconnect {error.__class__.__name__}"] += 1
                    await asyncio.sleep(random.uniform(0.5, 1.5))
            self.resyncs += by_server


def abandon(conn: chat_client.Connection) -> None:
    conn.ws.transport.abort()


async def send_steadily(
    member: Member, rate: float, until: float, acked: dict[str, set[int]]
) -> None:
    """`rate` messages a second to the member's room, on a fixed schedule, while
    its socket is joined (a tick while it is not is skipped)."""
    loop = asyncio.get_running_loop()
    interval = 1.0 / rate
    due = loop.time() + random.uniform(0, interval)
    pending: set[asyncio.Task] = set()
    n = 0
    while (now := time.time()) < until:
        await asyncio.sleep(max(0.0, due - loop.time()))
        due += interval
        if not member.joined:
            member.errors["skipped: not joined"] += 1
            continue
        n += 1
        task = asyncio.create_task(send_one(member, f"{time.time_ns()} {n}", acked))
        pending.add(task)
        task.add_done_callback(pending.discard)
    del now
    if pending:
        await asyncio.wait(pending, timeout=30)


async def send_one(member: Member, body: str, acked: dict[str, set[int]]) -> None:
    try:
        reply = await member.conn.request(
            "send_message", {"room": member.room, "message": body}
        )
    except chat_client.PeerError as error:  # refused: counted, not acked
        member.errors[error.code] += 1
        return
    except Exception as error:  # the socket went (a churner's, a server close)
        member.errors[f"send {error.__class__.__name__}"] += 1
        return
    acked[member.room].add(reply["seq"])


async def sleep_until(seconds: float, until: float) -> bool:
    """Sleep `seconds`, or until `until` (epoch) if sooner; False if that came."""
    await asyncio.sleep(max(0.0, min(seconds, until - time.time())))
    return time.time() < until


async def churn(member: Member, until: float) -> None:
    while await sleep_until(random.uniform(*CHURN_EVERY), until):
        if not member.joined:
            continue
        try:
            if random.random() < 0.5:
                await member.conn.request("leave_room", {"room": member.room})
                member.joined = False
                await asyncio.sleep(random.uniform(1, 3))
                await member.join()
                member.errors["churn: left and rejoined"] += 1
            else:
                await member.conn.close()  # keep_connected opens a new one
                member.errors["churn: reconnected"] += 1
        except Exception as error:  # the socket went meanwhile: it comes back
            member.errors[f"churn {error.__class__.__name__}"] += 1
            member.abandon()


async def read_slowly(member: Member, until: float) -> None:
    while await sleep_until(random.uniform(*PAUSE_EVERY), until):
        transport = member.conn.ws.transport
        transport.pause_reading()
        await asyncio.sleep(random.uniform(*PAUSE_FOR))
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            transport.resume_reading()
        member.errors["slow: paused"] += 1


REDIS_URL: str | None = None  # --redis: also count the sockets' subscriptions


def worker_sample(pids: list[int], t0: float) -> dict:
    sample = {
        "t_s": round(time.time() - t0),
        "rss_mib": [round(rss_kib([p]) / 1024, 1) for p in pids],
        "fds": [fd_count(p) for p in pids],
    }
    if REDIS_URL:
        sample["socket_channels"] = socket_channels(REDIS_URL)
    return sample


def socket_channels(url: str) -> int:
    """Redis channels of sockets (Channels' "specific.", long-polling's "poll.")
    with a subscriber: one per open socket, unless closed ones leak."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        names = client.pubsub_channels("*layer*")
    finally:
        client.close()
    return sum(1 for n in names if b"specific." in n or b"poll." in n)


def fd_count(pid: int) -> int:
    total = 0
    for p in _with_children([pid]):
        with contextlib.suppress(FileNotFoundError):
            total += len(os.listdir(f"/proc/{p}/fd"))
    return total


async def sample(pids: list[int], every: float, series: list[dict], t0: float):
    while True:
        series.append(s := worker_sample(pids, t0))
        channels = s.get("socket_channels", "-")
        print(
            f"  {s['t_s']:6} s  RSS MiB {s['rss_mib']}  fds {s['fds']}"
            f"  socket channels {channels}",
            flush=True,
        )
        await asyncio.sleep(every)


async def soak(args: argparse.Namespace, identities: list[dict]) -> dict:
    urls = args.url.split(",")
    run_id = secrets.token_hex(3)
    members = [
        Member(i, identities[i], urls[i % len(urls)], f"soak-{run_id}-{i % args.rooms}")
        for i in range(args.clients)
    ]
    room_size = args.clients / args.rooms
    per_member = args.rate / room_size / args.clients  # messages/s each
    rng = random.Random(1)
    special = rng.sample(members, args.churners + args.slow)
    churners, slow = special[: args.churners], special[args.churners :]
    for m in slow:
        m.slow = True
    limit = asyncio.Semaphore(20)
    before = worker_sample(args.server_pid, time.time())

    async def first_connect(member: Member) -> None:
        async with limit:
            await member.connect()

    await asyncio.gather(*(first_connect(m) for m in members))
    print(
        f"{len(members)} members joined; {per_member * len(members):.0f} messages/s"
        f" = {args.rate:.0f} deliveries/s for {args.minutes} min",
        flush=True,
    )
    series: list[dict] = []
    t0 = time.time()
    until = t0 + args.minutes * 60
    sampler = asyncio.create_task(sample(args.server_pid, args.sample, series, t0))
    acked: dict[str, set[int]] = {m.room: set() for m in members}
    done = asyncio.Event()
    keepers = [asyncio.create_task(m.keep_connected(done)) for m in members]
    work = [send_steadily(m, per_member, until, acked) for m in members]
    work += [churn(m, until) for m in churners]
    work += [read_slowly(m, until) for m in slow]
    await asyncio.gather(*work)
    # Drain: every member back in its room, then the last broadcasts.
    deadline = time.time() + 60
    while not all(m.joined for m in members) and time.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    await asyncio.sleep(args.drain)
    done.set()
    await asyncio.gather(*keepers)
    sampler.cancel()
    series.append(worker_sample(args.server_pid, t0))
    await asyncio.gather(*(m.conn.close() for m in members), return_exceptions=True)
    return report(args, members, acked, [before, *series])


def report(
    args: argparse.Namespace,
    members: list[Member],
    acked: dict[str, set[int]],
    series: list[dict],
) -> dict:
    """`series[0]` was taken before the members connected, the rest from the
    start of the load on."""
    lost: dict[str, int] = {}
    expected = 0
    for m in members:
        wanted = {s for s in acked[m.room] if s > m.first_floor}
        expected += len(wanted)
        missing = [s for s in wanted if s > m.window.floor and s not in m.window.above]
        if missing:
            lost[f"bench-{m.index}"] = len(missing)
    latencies = sorted(
        ms for m in members for ms, n in m.latencies_ms.items() for _ in range(n)
    )
    warm = next(
        (s for s in series[1:] if s["t_s"] >= args.warm_up * 60),
        series[len(series) // 2],
    )
    total = lambda name: sum(getattr(m, name) for m in members)  # noqa: E731
    result = {
        "minutes": args.minutes,
        "members": len(members),
        "rooms": args.rooms,
        "offered_deliveries_per_s": args.rate,
        "acked_messages": sum(len(s) for s in acked.values()),
        "expected_deliveries": expected,
        "delivered_live": total("live"),
        "delivered_by_resync": total("via_resync"),
        "lost": sum(lost.values()),
        "lost_by_member": lost,
        "duplicated_live": total("live_duplicates"),
        "resync_overlap": total("resync_overlap"),
        "resyncs": total("resyncs"),
        "close_codes": {
            str(k): v for k, v in sum((m.closes for m in members), Counter()).items()
        },
        "events": dict(sum((m.errors for m in members), Counter())),
        "latency_ms": percentiles([ms * 1000 for ms in latencies]),
        "deliveries_per_s": round(
            (total("live") + total("via_resync")) / (args.minutes * 60), 1
        ),
        "workers": {
            "before_members_connected": series[0],
            "start": series[1],
            "after_warm_up": warm,
            "end": series[-1],
        },
        "series": series,
    }
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__)
    parser.add_argument("--url", required=True, help="base URLs, comma-separated")
    parser.add_argument(
        "--server-pid",
        required=True,
        type=lambda v: [int(p) for p in v.split(",")],
        help="the workers' pids, comma-separated, in --url's order",
    )
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=2000, help="deliveries/s")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--churners", type=int, default=10)
    parser.add_argument("--slow", type=int, default=4, help="slow readers")
    parser.add_argument("--sample", type=float, default=15, help="seconds")
    parser.add_argument("--warm-up", type=float, default=5, help="minutes")
    parser.add_argument("--drain", type=float, default=5, help="seconds")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--redis", help="the workers' REDIS_URL: also count the sockets' channels"
    )
    args = parser.parse_args(argv)
    global REDIS_URL
    REDIS_URL = args.redis
    base_url = args.url.split(",")[0]
    identities = chat_client.prepare_identities(base_url, args.clients, "soak")
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    result = asyncio.run(soak(args, identities))
    print(json.dumps({k: v for k, v in result.items() if k != "series"}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 1 if result["lost"] or result["duplicated_live"] else 0
