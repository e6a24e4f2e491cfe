"""Who a message's text names: @username, @room, @here (pure: no database).

Usernames follow Django's validator (letters, digits and `.@+-_`), so a name is
read up to the first other character, and trailing punctuation (`@alice.` at the
end of a sentence) is tried without it too. Text in code (`inline` or fenced) names
nobody, as in Slack and Zulip.
"""

import re
from dataclasses import dataclass

ROOM = "@room"  # every member of the room
HERE = "@here"  # the members online when it is sent
WILDCARDS = {"room": ROOM, "here": HERE}

# A name starts after a character that cannot be part of one (so "bob@example.com"
# is an address, not a mention) and runs over the characters a username may hold.
MENTION_RE = re.compile(r"(?<![\w.@+-])@([\w.@+-]{1,150})")
CODE_RE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
TRAILING = ".-+@"


@dataclass(frozen=True)
class Named:
    """What a text names: each name as written and without its trailing
    punctuation (the first that is a member's is meant), and the wildcard it
    used, @room winning over @here."""

    candidates: frozenset[tuple[str, str]]
    wildcard: str | None

    def __bool__(self) -> bool:
        return bool(self.candidates) or self.wildcard is not None


NOBODY = Named(frozenset(), None)


def names_in(body: str) -> Named:
    """What `body` names. Cheap for the common text with no `@` at all."""
    if "@" not in body:
        return NOBODY
    candidates: set[tuple[str, str]] = set()
    wildcards: set[str] = set()
    for match in MENTION_RE.finditer(CODE_RE.sub(" ", body)):
        written = match.group(1)
        bare = written.rstrip(TRAILING)
        if bare.casefold() in WILDCARDS:
            wildcards.add(WILDCARDS[bare.casefold()])
            continue
        candidates.add((written, bare))
    wildcard = ROOM if ROOM in wildcards else HERE if HERE in wildcards else None
    return Named(frozenset(candidates), wildcard)


def stored_list(usernames: set[str], wildcard: str | None) -> list[str]:
    """Message.mentions: the members named, sorted, then the wildcard."""
    return sorted(usernames) + ([wildcard] if wildcard else [])
