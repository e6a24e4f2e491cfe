"""The message mix of a fan-out run (`--mix replies=0.1,reactions=0.2,mentions=0.1`):
which kind each of a client's sends is, and what a reply, a reaction or a mention
goes to.

Pure (no I/O), so it is tested on its own (tests/test_bench_mix.py).
"""

import random
from collections import deque

# --mix names -> the kind of send they choose.
KINDS = {"replies": "reply", "reactions": "reaction", "mentions": "mention"}
# A small set, so that reactions pile up on a message and get taken off again.
EMOJI = ("👍", "❤️", "😂", "🎉")
# How many of a room's latest messages a reply or reaction picks from.
RECENT = 16


def parse_mix(text: str) -> dict[str, float]:
    """`"replies=0.1,reactions=0.2"` -> {"reply": 0.1, "reaction": 0.2}; the rest
    of the sends are plain messages. ValueError on an unknown kind, a share
    outside 0..1, or shares adding up to more than 1."""
    shares: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in KINDS:
            raise ValueError(
                f"{part!r}: expected NAME=SHARE with NAME one of {', '.join(KINDS)}"
            )
        share = float(value)
        if not 0 <= share <= 1:
            raise ValueError(f"{part!r}: a share is between 0 and 1")
        shares[KINDS[name]] = share
    if sum(shares.values()) > 1 + 1e-9:
        raise ValueError(f"{text!r}: the shares add up to more than 1")
    return shares


class Chooser:
    """One client's sends: each a "reply", a "reaction", a "mention" (a message
    naming another member of the room) or a "message", at random in the given
    shares (seeded, so a rerun chooses the same)."""

    def __init__(self, shares: dict[str, float], seed: int) -> None:
        self.bounds: list[tuple[float, str]] = []
        total = 0.0
        for kind in ("reply", "reaction", "mention"):
            total += shares.get(kind, 0.0)
            self.bounds.append((total, kind))
        self.random = random.Random(seed)

    def kind(self) -> str:
        r = self.random.random()
        for bound, kind in self.bounds:
            if r < bound:
                return kind
        return "message"

    def emoji(self) -> str:
        return self.random.choice(EMOJI)

    def pick(self, ids: "deque[int]") -> int | None:
        return self.random.choice(ids) if ids else None


class Recent:
    """A room's latest message ids as its members see them: every message, and the
    top-level ones (a reply's thread root must be top-level)."""

    def __init__(self) -> None:
        self.any: deque[int] = deque(maxlen=RECENT)
        self.top: deque[int] = deque(maxlen=RECENT)

    def seen(self, message_id: int, reply: bool) -> None:
        """A member received `message_id`; the first of its members to do so adds
        it (ids only grow in a room, so anything not above the last is known)."""
        if self.any and message_id <= self.any[-1]:
            return
        self.any.append(message_id)
        if not reply:
            self.top.append(message_id)
