"""One load-generator process: its share of the clients, each a socket in a room.

The parent (bench/__main__.py) starts several of these so the generator is not
the bottleneck. Protocol with the parent, over a multiprocessing Pipe:
  child -> ("ready", {...}) once its sockets are open and joined (or ("failed", msg));
  parent -> ("start", epoch_seconds, rate_per_client, duration, drain);
  child -> ("result", {...}) at the end.
Progress (sends, deliveries) goes through a shared array the parent reads.

A message body is "<send time ns> <client> <n>": the receiver computes the
delivery latency from it (all processes share the machine's clock).

With a mix (bench/mix.py, chat peer only) some sends are thread replies (a plain
message's body, with threadId and clientId) or reactions, and every frame a
socket receives from the start on is a delivery, counted by event. Latency by
kind: a reply's from its body like a message's; a root's `thread_updated` from
the send of the reply it names (lastReplyId); a `reaction_updated` from the
send of the reaction it reports, at every socket of this process (a reaction is
known by message, emoji, user and on/off).
"""

import asyncio
import importlib
import os
import resource
import secrets
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .mix import Chooser, Recent


@dataclass
class Slice:
    """What one process runs: clients (global index, identity, room)."""

    peer: str  # module path of the client: bench.chat_client, ...
    base_urls: list[str]  # client i opens its socket on base_urls[i % len]
    clients: list[tuple[int, dict, str]]
    connect_concurrency: int = 50
    # kind -> share of the sends ("reply", "reaction"); None: plain messages only
    mix: dict[str, float] | None = None


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
    # With a mix. latencies_us and ack_latencies_us stay the plain messages'.
    counting: bool = False  # frames before the start (joins) are not deliveries
    frames: Counter = field(default_factory=Counter)  # event -> deliveries
    sent_by_kind: Counter = field(default_factory=Counter)
    acked_by_kind: Counter = field(default_factory=Counter)
    kind_latencies_us: defaultdict = field(default_factory=lambda: defaultdict(list))
    kind_ack_latencies_us: defaultdict = field(
        default_factory=lambda: defaultdict(list)
    )


@dataclass
class Shared:
    """What this process's sockets learn together in a mixed run."""

    recent: defaultdict = field(default_factory=lambda: defaultdict(Recent))
    reply_sent_ns: dict[int, int] = field(default_factory=dict)  # reply id ->
    # (message id, emoji, username, on) -> when it was sent
    reaction_sent_ns: dict[tuple, int] = field(default_factory=dict)
    # room -> the usernames of this process's clients in it (whom a mention names)
    members: defaultdict = field(default_factory=lambda: defaultdict(list))


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

    shared = Shared()
    for _, identity, room in slice_.clients:
        shared.members[room].append(identity["username"])

    def mixed_receiver(index: int, room: str) -> dict:
        """on_message, on_data and on_event for one socket of a mixed run."""
        on_message = receiver(index)
        keys = seen[-1]
        recent = shared.recent[room]
        frames = tally.frames
        latencies = tally.kind_latencies_us

        def on_data(data: dict) -> None:
            reply = "threadId" in data
            recent.seen(data["id"], reply)
            if not reply:
                before = tally.deliveries
                on_message(data["message"])
                frames["receive_message"] += tally.deliveries - before
                return
            now = time.time_ns()
            sent_ns, _, key = data["message"].partition(" ")
            if key in keys:
                tally.duplicates += 1
                return
            keys.add(key)
            tally.deliveries += 1
            frames["receive_message"] += 1
            tally.received[key] += 1
            sent = int(sent_ns)
            shared.reply_sent_ns.setdefault(data["id"], sent)
            latencies["reply"].append((now - sent) // 1000)

        def on_event(event: str, data: dict) -> None:
            if not tally.counting:
                return
            now = time.time_ns()
            tally.deliveries += 1
            frames[event] += 1
            if event == "mentioned":  # its text starts with when it was sent
                sent = int(data["message"].partition(" ")[0])
            elif event == "thread_updated":
                sent = shared.reply_sent_ns.get(data.get("lastReplyId"))
            elif event == "reaction_updated":
                sent = shared.reaction_sent_ns.get(
                    (data["id"], data["emoji"], data.get("by"), data.get("on"))
                )
            else:
                return
            if sent is not None:
                latencies[event].append((now - sent) // 1000)

        return {"on_message": on_message, "on_data": on_data, "on_event": on_event}

    def handlers(index: int, room: str) -> dict:
        if slice_.mix is None:
            return {"on_message": receiver(index)}
        return mixed_receiver(index, room)

    opened = time.monotonic()
    limit = asyncio.Semaphore(slice_.connect_concurrency)

    async def open_one(index: int, identity: dict, room: str):
        async with limit:
            conn = await peer.Connection.open(
                slice_.base_urls[index % len(slice_.base_urls)],
                identity,
                **handlers(index, room),
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
    tally.counting = True
    senders = [
        asyncio.create_task(
            _send_steadily(
                conn,
                index,
                room,
                rate_per_client,
                duration,
                tally,
                None
                if slice_.mix is None
                else _MixedSender(
                    conn, identity["username"], room, slice_.mix, index, shared
                ),
            )
        )
        for conn, (index, identity, room) in zip(sockets, slice_.clients, strict=True)
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
                "frames": dict(tally.frames),
                "sent_by_kind": dict(tally.sent_by_kind),
                "acked_by_kind": dict(tally.acked_by_kind),
                "kind_latencies_us": dict(tally.kind_latencies_us),
                "kind_ack_latencies_us": dict(tally.kind_ack_latencies_us),
                "cpu_seconds": cpu,
                "pid": os.getpid(),
            },
        )
    )


async def _send_steadily(
    conn,
    index: int,
    room: str,
    rate: float,
    duration: float,
    tally: Tally,
    mixed: "_MixedSender | None" = None,
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
        task = asyncio.create_task(
            _send_one(conn, room, key, tally)
            if mixed is None
            else mixed.send(key, tally)
        )
        pending.add(task)
        task.add_done_callback(pending.discard)
        n += 1
    if pending:
        await asyncio.wait(pending, timeout=30)


async def _send_one(conn, room: str, key: str, tally: Tally) -> bool:
    """Send a plain message; whether it was acknowledged."""
    tally.sent += 1
    try:
        ack_seconds = await conn.send(room, f"{time.time_ns()} {key}")
    except Exception as error:
        tally.errors[getattr(error, "code", error.__class__.__name__)] += 1
        return False
    tally.acked += 1
    tally.acked_keys.append(key)
    if ack_seconds is not None:
        tally.ack_latencies_us.append(int(ack_seconds * 1e6))
    return True


class _MixedSender:
    """One client's sends in a mixed run: each a plain message, a thread reply to
    a recent top-level message of its room, a reaction toggled on a recent
    message (a plain message while the room has none yet), or a message
    mentioning another of the room's clients (its `mentioned` frame counts as a
    delivery too)."""

    def __init__(
        self, conn, username: str, room: str, mix: dict, index: int, shared: Shared
    ) -> None:
        self.conn = conn
        self.username = username
        self.room = room
        self.chooser = Chooser(mix, seed=index)
        self.recent = shared.recent[room]
        self.members = shared.members[room]
        self.reaction_sent_ns = shared.reaction_sent_ns
        self.mine: set[tuple[int, str]] = set()  # the reactions it has on
        # A clientId is unique per user for good (a repeat is taken for a resend
        # of the first, and nothing is stored or broadcast), and the benchmark's
        # users are reused from run to run.
        self.client_id_prefix = f"{secrets.token_hex(4)}:"

    def send(self, key: str, tally: Tally):
        """The coroutine of the next send (its kind chosen now, in order)."""
        kind = self.chooser.kind()
        if kind == "reply" and (root := self.chooser.pick(self.recent.top)):
            return self._reply(key, root, tally)
        if kind == "reaction" and (target := self.chooser.pick(self.recent.any)):
            return self._react(target, self.chooser.emoji(), tally)
        if kind == "mention" and (named := self._someone_else()):
            return self._mention(f"{key} @{named}", tally)
        tally.sent_by_kind["message"] += 1
        return self._message(key, tally)

    def _someone_else(self) -> str | None:
        others = [u for u in self.members if u != self.username]
        return self.chooser.random.choice(others) if others else None

    async def _mention(self, key: str, tally: Tally) -> None:
        # The name is part of the key, so its deliveries count as this send's.
        tally.sent_by_kind["mention"] += 1
        if await _send_one(self.conn, self.room, key, tally):
            tally.acked_by_kind["mention"] += 1

    async def _message(self, key: str, tally: Tally) -> None:
        if await _send_one(self.conn, self.room, key, tally):
            tally.acked_by_kind["message"] += 1

    async def _reply(self, key: str, root: int, tally: Tally) -> None:
        tally.sent += 1
        tally.sent_by_kind["reply"] += 1
        try:
            ack_seconds = await self.conn.send(
                self.room,
                f"{time.time_ns()} {key}",
                threadId=root,
                clientId=self.client_id_prefix + key,
            )
        except Exception as error:
            tally.errors[getattr(error, "code", error.__class__.__name__)] += 1
            return
        tally.acked += 1
        tally.acked_by_kind["reply"] += 1
        tally.acked_keys.append(key)
        tally.kind_ack_latencies_us["reply"].append(int(ack_seconds * 1e6))

    async def _react(self, target: int, emoji: str, tally: Tally) -> None:
        mine = (target, emoji)
        on = mine not in self.mine
        # Toggled when sent, so the next choice of the same one takes it back.
        (self.mine.add if on else self.mine.discard)(mine)
        tally.sent += 1
        tally.sent_by_kind["reaction"] += 1
        self.reaction_sent_ns[(target, emoji, self.username, on)] = time.time_ns()
        try:
            ack_seconds = await self.conn.react(target, emoji, on)
        except Exception as error:
            tally.errors[getattr(error, "code", error.__class__.__name__)] += 1
            return
        tally.acked += 1
        tally.acked_by_kind["reaction"] += 1
        tally.kind_ack_latencies_us["reaction"].append(int(ack_seconds * 1e6))


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
