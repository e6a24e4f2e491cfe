"""Clients that keep sending while workers and Redis fail, and keep score.

Each `Member` behaves as a careful third-party client should (docs/PROTOCOL.md):
every message has a clientId and stays in an outbox until acknowledged; after any
reconnect it rejoins its rooms with `after` = the highest seq up to which it has
everything, then resends the outbox. It records what it saw, so the test can say
for every acknowledged message whether each room member got it exactly once.
"""

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

from .client import Client, ErrorReply

SEND_TIMEOUT = 12  # a send blocked this long is treated as lost and resent


class Window:
    """The seqs of one room a client holds: all up to `floor`, and `above`.

    The same idea as the server's chat.realtime.session.Delivered, written again on
    purpose: the test keeps its own count rather than trust the code it checks."""

    def __init__(self, floor: int) -> None:
        self.floor = floor
        self.above: set[int] = set()

    def add(self, seq: int) -> bool:
        """False if the seq was already held."""
        if seq <= self.floor or seq in self.above:
            return False
        self.above.add(seq)
        while self.floor + 1 in self.above:
            self.floor += 1
            self.above.remove(self.floor)
        return True


@dataclass
class Member:
    username: str
    cookie: str
    urls: list[str]  # the first is its home worker
    rooms: list[str]  # rooms it joins, direct rooms included
    targets: list[tuple[str, str]]  # ("room", name) or ("user", username) to send to
    interval: float
    windows: dict[str, Window] = field(default_factory=dict)
    view: dict[str, list[int]] = field(default_factory=dict)  # ids, as received
    outbox: dict[str, tuple[str, str]] = field(default_factory=dict)
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)  # cid: room, id
    ack_times: dict[str, float] = field(default_factory=dict)
    attempts: Counter = field(default_factory=Counter)  # cid: sends
    errors: Counter = field(default_factory=Counter)  # error code: count
    close_codes: Counter = field(default_factory=Counter)
    acked_as_duplicate: int = 0  # stored by an earlier attempt whose ack was lost
    live_duplicates: int = 0  # live frames for a seq already held: must stay 0
    resync_overlap: int = 0  # resync items already held (allowed by the protocol)
    via_resync: int = 0  # items first seen in a resync
    connects: int = 0
    client: Client | None = None
    numbers: itertools.count = field(default_factory=itertools.count)
    tasks: set[asyncio.Task] = field(default_factory=set)

    async def run(self, sending: asyncio.Event, done: asyncio.Event) -> None:
        urls = itertools.cycle(self.urls)
        while not done.is_set():
            try:
                self.client = await Client.open(next(urls), self.cookie, self.username)
            except Exception:
                await asyncio.sleep(0.2)
                continue
            self.connects += 1
            try:
                await self.session(self.client, sending, done)
            except (ConnectionError, TimeoutError, ErrorReply):
                pass
            finally:
                self.close_codes[self.client.close_code] += 1
                if self.client.is_open:
                    await self.client.close()
            if not done.is_set():
                await asyncio.sleep(0.05)

    async def session(
        self, client: Client, sending: asyncio.Event, done: asyncio.Event
    ) -> None:
        await self.resync(client)
        for cid in list(self.outbox):
            self.spawn(self.deliver(client, cid))
        reader = asyncio.create_task(self.read(client))
        sender = asyncio.create_task(self.send_steadily(client, sending))
        stop = asyncio.create_task(done.wait())
        await asyncio.wait({reader, stop}, return_when=asyncio.FIRST_COMPLETED)
        for task in (reader, sender, stop):
            task.cancel()

    async def resync(self, client: Client) -> None:
        for room in self.rooms:
            window = self.windows.get(room)
            while True:
                data = {"room": room}
                if window is not None:
                    data["after"] = window.floor
                reply = await client.request("join_room", data)
                # Frames that came before this reply are counted first, in the
                # order they came: a live frame, then a later page holding the
                # same seq, is an overlap the protocol allows, not a duplicate.
                self.take_queued(client)
                if window is None:
                    # Joined for the first time: the newest history is the view
                    # (the other members may have started sending already).
                    window = self.windows[room] = Window(reply["seq"])
                    self.view[room] = [m["id"] for m in reply["history"]]
                    break
                for message in reply["history"]:
                    if window.add(message["seq"]):
                        self.view[room].append(message["id"])
                        self.via_resync += 1
                    else:
                        self.resync_overlap += 1
                if not reply["hasMore"]:
                    break

    async def read(self, client: Client) -> None:
        while True:
            frame = await client.events.get()
            if frame["event"] == "_closed":
                return
            self.take_live(frame)

    def take_queued(self, client: Client) -> None:
        while not client.events.empty():
            frame = client.events.get_nowait()
            if frame["event"] == "_closed":  # for `read`, which stops on it
                client.events.put_nowait(frame)
                return
            self.take_live(frame)

    def take_live(self, frame: dict) -> None:
        if frame["event"] not in ("receive_message", "private_message"):
            return
        data = frame["data"]
        window = self.windows.get(data["room"])
        if window is None:
            return
        if window.add(data["seq"]):
            self.view[data["room"]].append(data["id"])
        else:
            self.live_duplicates += 1

    async def send_steadily(self, client: Client, sending: asyncio.Event) -> None:
        targets = itertools.cycle(self.targets)
        while sending.is_set():
            cid = f"{self.username}-{next(self.numbers)}"
            self.outbox[cid] = next(targets)
            self.spawn(self.deliver(client, cid))
            await asyncio.sleep(self.interval)

    def spawn(self, work) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def deliver(self, client: Client, cid: str) -> None:
        """Send until acknowledged; a dropped socket leaves it to the next one."""
        while cid in self.outbox and client.is_open:
            kind, target = self.outbox[cid]
            self.attempts[cid] += 1
            if kind == "room":
                event, data = "send_message", {"room": target}
            else:
                event, data = "private_message", {"toUsername": target}
            try:
                ack = await client.request(
                    event, {**data, "message": cid, "clientId": cid}, SEND_TIMEOUT
                )
            except ErrorReply as error:
                self.errors[error.code] += 1
                await asyncio.sleep(error.data.get("retryAfter", 1))
                continue
            except (ConnectionError, TimeoutError):
                return
            if cid in self.outbox:
                self.acked_as_duplicate += ack["duplicate"]
                del self.outbox[cid]
                self.acked[cid] = (ack["room"], ack["messageId"])
                self.ack_times[cid] = time.monotonic()


def score(members: list[Member], room_members: dict[str, list[str]]) -> dict:
    """The counts the issue asks for, and what each member missed."""
    by_name = {m.username: m for m in members}
    acked_by_room: dict[str, set[int]] = {}
    for member in members:
        for room, message_id in member.acked.values():
            acked_by_room.setdefault(room, set()).add(message_id)
    lost = 0
    duplicates = 0
    delivered = 0
    missing: dict[str, list[int]] = {}
    for room, names in room_members.items():
        expected = acked_by_room.get(room, set())
        for name in names:
            seen = by_name[name].view.get(room, [])
            duplicates += len(seen) - len(set(seen))
            got = expected & set(seen)
            delivered += len(got)
            if expected - got:
                missing[f"{name}@{room}"] = sorted(expected - got)[:10]
                lost += len(expected - got)
    return {
        "sent": sum(len(m.acked) + len(m.outbox) for m in members),
        "send_attempts": sum(sum(m.attempts.values()) for m in members),
        "retried": sum(1 for m in members for n in m.attempts.values() if n > 1),
        "acked": sum(len(m.acked) for m in members),
        "unacked": sum(len(m.outbox) for m in members),
        "acked_as_duplicate": sum(m.acked_as_duplicate for m in members),
        "expected_deliveries": sum(
            len(acked_by_room.get(room, ())) * len(names)
            for room, names in room_members.items()
        ),
        "delivered": delivered,
        "lost": lost,
        "duplicates": duplicates + sum(m.live_duplicates for m in members),
        "delivered_by_resync": sum(m.via_resync for m in members),
        "resync_overlap": sum(m.resync_overlap for m in members),
        "errors": dict(sum((m.errors for m in members), Counter())),
        "close_codes": {
            str(k): v
            for k, v in sum((m.close_codes for m in members), Counter()).items()
        },
        "connects": sum(m.connects for m in members),
        "missing": missing,
    }
