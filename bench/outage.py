"""`python -m bench outage --runs 100`: is a room subscription ever lost across a
Redis restart? Not part of CI: it takes about ten seconds a run.

Two workers (the graceful daphne launcher) on a PostgreSQL database of the run's
own and a private redis-server (tests/servers.py; DATABASE_URL names the server
the database is created beside). Members sit on both workers, each socket in every
room. Churners join and leave the same rooms all the time, so group subscriptions
come and go while the subscriber connection is lost and re-established. Each run:
Redis is killed and started again; every socket is closed with 1012 when its
worker's layer reconnects, and its client comes back after a random delay of up
to a second, as the web client does, and rejoins its rooms with `after`. Then one
member on each worker sends a message to each room, and every member must receive
it live within LIVE_WITHIN seconds. A run where an acknowledged message did not
reach some member live is a lost subscription; the Redis side of it (which
connections are subscribed to the room's group) is recorded in the report.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import redis

from tests import servers
from tests.cluster.client import Client, ErrorReply, log_in

LIVE_WITHIN = 3.0  # seconds for a message to reach every member live
RESTART_SPREAD = 1.0  # the web client's random delay after a 1012
ARTIFACTS = servers.ROOT / "test-artifacts" / "outage"


@dataclass
class Member:
    """A socket that stays in `rooms`, reconnecting and rejoining after any close."""

    name: str
    cookie: str
    url: str
    rooms: list[str]
    spread: float = RESTART_SPREAD
    client: Client | None = None
    joined: asyncio.Event = field(default_factory=asyncio.Event)
    seqs: dict[str, int] = field(default_factory=dict)
    closes: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)

    async def run(self) -> None:
        while True:
            try:
                self.client = await Client.open(self.url, self.cookie, self.name)
                await asyncio.gather(*(self.join(room) for room in self.rooms))
            except Exception as error:  # a refused handshake or join: try again
                self.errors[error.__class__.__name__] += 1
                if self.client is not None and self.client.is_open:
                    await self.client.close()
                await asyncio.sleep(0.2)
                continue
            self.joined.set()
            await asyncio.shield(self.client.reader)
            self.joined.clear()
            self.closes[self.client.close_code] += 1
            await asyncio.sleep(random.uniform(0, self.spread))

    async def join(self, room: str) -> None:
        data = {"room": room}
        if room in self.seqs:
            data["after"] = self.seqs[room]
        reply = await self.client.request("join_room", data)
        self.seqs[room] = reply["seq"]


async def churn(member: Member) -> None:
    """Leave and join rooms, or drop the socket for a new one, over and over: the
    layer subscribes and unsubscribes all the time, through the outage too (its
    own room is subscribed and unsubscribed on each leave and join)."""
    while True:
        client = member.client
        if client is None or not client.is_open or not member.joined.is_set():
            await asyncio.sleep(0.02)
            continue
        if random.random() < 0.3:
            await client.close()  # run() opens a new one at once
            continue
        room = random.choice(member.rooms)
        with contextlib.suppress(ConnectionError, TimeoutError, ErrorReply):
            await client.request("leave_room", {"room": room}, timeout=3)
            await asyncio.sleep(random.uniform(0, 0.05))
            await client.request("join_room", {"room": room}, timeout=3)
        await asyncio.sleep(random.uniform(0, 0.05))


async def send(member: Member, room: str, text: str) -> dict:
    """Send until acknowledged (a refusal says when to retry)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return await member.client.request(
                "send_message", {"room": room, "message": text, "clientId": text}
            )
        except ErrorReply as error:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(error.data.get("retryAfter", 0.5))


async def received(member: Member, ids: set[int], seconds: float) -> set[int]:
    """Which of `ids` reach the member's socket within `seconds`."""
    got: set[int] = set()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while not ids <= got:
                frame = await member.client.events.get()
                if frame["event"] == "receive_message":
                    got.add(frame["data"]["id"])
    return got & ids


def redis_view(url: str, groups: dict[str, str]) -> dict:
    """Who Redis thinks is subscribed to each room's group, and the pub/sub
    connections (CLIENT LIST), for the report of a lost subscription."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        numsub = dict(client.pubsub_numsub(*groups.values()))
        return {
            "subscribers": {room: numsub.get(g, 0) for room, g in groups.items()},
            "pubsub_connections": [
                f"{c['addr']} sub={c['sub']} age={c['age']}"
                for c in client.client_list()
                if int(c.get("sub", 0)) > 0
            ],
        }
    finally:
        client.close()


async def one_run(
    n: int,
    redis_server: servers.RedisServer,
    members: list[Member],
    groups: dict[str, str],
) -> dict:
    closes_before = [sum(m.closes.values()) for m in members]
    redis_server.kill()
    down_for = random.uniform(0.2, 1.5)
    await asyncio.sleep(down_for)
    await asyncio.to_thread(redis_server.start)
    back = time.monotonic()
    # Every socket closed (1012) after Redis came back, and joined again.
    deadline = back + 20
    while time.monotonic() < deadline and not all(  # noqa: ASYNC110
        sum(m.closes.values()) > before and m.joined.is_set()
        for m, before in zip(members, closes_before, strict=True)
    ):
        await asyncio.sleep(0.05)
    not_closed = [
        m.name
        for m, before in zip(members, closes_before, strict=True)
        if sum(m.closes.values()) == before and m.spread > 0
    ]
    not_rejoined = [m.name for m in members if not m.joined.is_set()]
    rejoined_in = time.monotonic() - back
    checkers = [m for m in members if m.spread > 0]  # not the churners
    for m in checkers:
        while not m.client.events.empty():
            m.client.events.get_nowait()
    # One message from a member on each worker to each room.
    senders = {m.url: m for m in checkers}.values()
    sent: dict[int, tuple[str, str]] = {}
    for sender in senders:
        for room in sender.rooms:
            ack = await send(
                sender, room, f"o{servers.RUN_ID}-{n}-{sender.name}-{room}"
            )
            sent[ack["messageId"]] = (room, sender.url)
    got = await asyncio.gather(*(received(m, set(sent), LIVE_WITHIN) for m in checkers))
    missed = {
        m.name: [f"{sent[i][0]} from {sent[i][1]}" for i in sorted(set(sent) - g)]
        for m, g in zip(checkers, got, strict=True)
        if set(sent) - g
    }
    result = {
        "run": n,
        "redis_down_s": round(down_for, 2),
        "rejoined_after_s": round(rejoined_in, 2),
        "not_closed": not_closed,
        "not_rejoined": not_rejoined,
        "sent": len(sent),
        "missed": missed,
    }
    if missed:
        result["redis"] = redis_view(redis_server.url, groups)
    return result


async def stress(
    args: argparse.Namespace,
    env: dict[str, str],
    redis_server: servers.RedisServer,
    workers: list[servers.Server],
) -> dict:
    backend = servers.Backend(env)
    per_worker = args.members + args.churners
    names = backend.users(*(f"o{i}-" for i in range(2 * per_worker)))
    rooms = [backend.unique(f"out{r}-") for r in range(args.rooms)]
    churn_rooms = {
        name: backend.unique("churn-")
        for i, name in enumerate(names)
        if i // 2 >= args.members
    }
    for room in [*rooms, *churn_rooms.values()]:
        backend.room(names[0], room)
    ids = backend.run(
        "from chat.models import Room\n"
        "result = dict(Room.objects.filter(name__in=data['rooms'])"
        ".values_list('name', 'id'))",
        rooms=rooms,
    )
    prefix = f"{env.get('CHAT_REDIS_PREFIX', 'chat')}:layer__group__"
    groups = {room: f"{prefix}room.{ids[room]}" for room in rooms}
    members = []
    for i, name in enumerate(names):
        worker = workers[i % 2]
        churner = i // 2 >= args.members
        members.append(
            Member(
                name,
                await asyncio.to_thread(log_in, worker.url, name, servers.PASSWORD),
                worker.ws_url,
                [*rooms, churn_rooms[name]] if churner else rooms,
                spread=0 if churner else RESTART_SPREAD,
            )
        )
    tasks = [asyncio.create_task(m.run()) for m in members]
    tasks += [asyncio.create_task(churn(m)) for m in members if m.spread == 0]
    await asyncio.wait_for(
        asyncio.gather(*(m.joined.wait() for m in members)), timeout=60
    )
    report = ARTIFACTS / f"outage-{servers.RUN_ID}.jsonl"
    results = []
    started = time.monotonic()
    try:
        for n in range(1, args.runs + 1):
            result = await one_run(n, redis_server, members, groups)
            results.append(result)
            with report.open("a") as out:
                out.write(json.dumps(result) + "\n")
            lost = "LOST " + json.dumps(result["missed"]) if result["missed"] else "ok"
            print(
                f"run {n:3}: Redis down {result['redis_down_s']:.2f} s, all rejoined"
                f" {result['rejoined_after_s']:.2f} s after, {lost}",
                flush=True,
            )
    finally:
        for task in tasks:
            task.cancel()
        for m in members:
            if m.client is not None and m.client.is_open:
                await m.client.close()
    summary = {
        "runs": len(results),
        "runs_with_a_lost_subscription": sum(1 for r in results if r["missed"]),
        "runs_with_a_socket_not_closed": sum(1 for r in results if r["not_closed"]),
        "messages_checked": sum(r["sent"] for r in results),
        "rejoined_after_s_max": max(r["rejoined_after_s"] for r in results),
        "minutes": round((time.monotonic() - started) / 60, 1),
        "close_codes": dict(sum((m.closes for m in members), Counter())),
        "reconnect_errors": dict(sum((m.errors for m in members), Counter())),
        "report": str(report),
    }
    print(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench outage", description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=4, help="rooms per socket")
    parser.add_argument("--members", type=int, default=3, help="per worker")
    parser.add_argument(
        "--churners",
        type=int,
        default=2,
        help="sockets per worker that join and leave the rooms all the time",
    )
    args = parser.parse_args(argv)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    redis_server = servers.RedisServer(ARTIFACTS / f"redis-{servers.RUN_ID}.log")
    redis_server.start()
    workers: list[servers.Server] = []
    try:
        with servers.migrated_database("outage") as db_url:
            env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "REDIS_URL": redis_server.url,
                "DEBUG": "true",
                "PYTHONUNBUFFERED": "1",
                "LOG_LEVEL": "WARNING",
                # The churners reconnect and rejoin far faster than a person:
                # the request budget would hold them back, and the race with them.
                "CHAT_RATE_REQUESTS_PER_SECOND": "10000",
                "CHAT_RATE_REQUESTS_BURST": "20000",
            }
            for w in range(2):
                log = ARTIFACTS / f"w{w}-{servers.RUN_ID}.log"
                grace = "--grace-period", "5"
                env_w = {**env, "CHAT_WORKER_NAME": f"w{w}"}
                workers.append(servers.Server(env_w, servers.free_port(), log, *grace))
                workers[-1].start()
            summary = asyncio.run(stress(args, env, redis_server, workers))
    finally:
        for worker in workers:
            worker.kill()
        redis_server.kill()
    return 1 if summary["runs_with_a_lost_subscription"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
