"""Emoji for reactions: what counts as one, its canonical form and name, and the
data the browser's picker needs. Pure: the `emoji` package's data, no Django.

The package's data (EMOJI_DATA) holds every emoji sequence Unicode lists, each
with a status: fully qualified (the form to show and store), minimally qualified
or unqualified (the same emoji missing a U+FE0F variation selector, as keyboards
and old clients still send them) and component (skin tones and hair styles, only
parts of an emoji).
"""

import functools
from dataclasses import dataclass

import emoji

from chat.domain.errors import ChatError

FULLY_QUALIFIED = emoji.STATUS["fully_qualified"]
COMPONENT = emoji.STATUS["component"]
# Longer input is refused before any lookup. The longest name is 78 characters
# (":couple_with_heart_person_person_medium-dark_skin_tone_medium-light_skin_tone:"),
# the longest emoji 10 code points; tests check both still fit.
REACTION_INPUT_MAX = 100
EXAMPLE = "one emoji, like 👍, or its :shortcode:, like :thumbs_up:"

# Newer emoji than this are left out of the picker: older systems' fonts draw them
# as empty boxes. Reactions with them are still accepted (someone on a new system
# may type one), they just are not offered.
PICKER_MAX_EMOJI_VERSION = 15.0
# Skin-tone variants would multiply the people emoji by six; the picker shows the
# default (yellow) ones.
SKIN_TONES = frozenset(map(chr, range(0x1F3FB, 0x1F400)))
# Shown first in the picker: the reactions people reach for most.
COMMON = (
    "👍", "👎", "❤️", "😂", "😄", "🎉", "😮", "😢",
    "🙏", "👀", "✅", "🔥", "💯", "👏", "🤔", "🚀",
)  # fmt: skip
# The package's data is in alphabetical order of English names, which scatters
# related emoji. Code point order keeps each Unicode block's runs together (faces,
# animals, food, transport, ...) and puts a ZWJ sequence right after its base
# (👨, then 👨‍⚕️). The blocks are taken in this order: faces and people first, the
# symbols, keycaps and flags, the least picked, last.
BLOCK_ORDER = (
    (0x1F600, 0x1F64F),  # Emoticons: faces, gestures
    (0x1F900, 0x1F9FF),  # Supplemental Symbols and Pictographs: faces, people, food
    (0x1FA70, 0x1FAFF),  # Symbols and Pictographs Extended-A: newer faces, hands
    (0x1F300, 0x1F5FF),  # Misc Symbols and Pictographs: nature, food, animals, things
    (0x1F680, 0x1F6FF),  # Transport and Map Symbols
    (0x2600, 0x27BF),  # Misc Symbols and Dingbats: ☀️ ☕ ✅ ❤️ ...
)
REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)

# One picker entry: the emoji, its name, and its other names, space-separated
# (all without colons). Tuples: the cached index must not be changed by callers.
PickerEntry = tuple[str, str, str]


@dataclass(frozen=True)
class PickerIndex:
    common: tuple[str, ...]
    emoji: tuple[PickerEntry, ...]


def reaction_emoji_clean(value: object) -> str:
    """The fully-qualified form of one emoji, given as itself or as a :shortcode:,
    or ChatError("invalid")."""
    if not isinstance(value, str):
        raise ChatError("invalid", f"a reaction is {EXAMPLE}")
    if len(value) > REACTION_INPUT_MAX:
        raise ChatError("invalid", f"the reaction is too long; give {EXAMPLE}")
    text = value.strip()
    if not text:
        raise ChatError("invalid", f"the reaction is empty; give {EXAMPLE}")
    if len(text) > 2 and text[0] == ":" and text[-1] == ":":
        found = emoji_by_shortcode().get(text)
        if found is None:
            raise ChatError("invalid", f"no emoji has that :shortcode:; give {EXAMPLE}")
        return found
    data = emoji.EMOJI_DATA.get(text)
    if data is None:
        raise ChatError("invalid", why_not_one_emoji(text))
    if data["status"] == COMPONENT:
        raise ChatError(
            "invalid", f"{data['en']} is only a part of an emoji; give {EXAMPLE}"
        )
    if data["status"] == FULLY_QUALIFIED:
        return text
    # Every less qualified form shares its name with the fully-qualified one.
    return fully_qualified_by_name()[data["en"]]


def why_not_one_emoji(text: str) -> str:
    """What is wrong with `text`, which is not an emoji the data knows."""
    # The package finds the emoji in a text, and those that are not (RGI)
    # sequences, like a family with a skin tone: counted, but refused later.
    found = emoji.emoji_list(text)
    if len(found) > 1 and emoji.purely_emoji(text):
        return f"a reaction is only one emoji; give {EXAMPLE}"
    if found:
        return f"a reaction is just the emoji, without other text; give {EXAMPLE}"
    return f"that is not an emoji; give {EXAMPLE}"


def shortcode(canonical: str) -> str:
    """The display name of an emoji, like ":thumbs_up:" for 👍 (for tooltips).
    Accepts anything reaction_emoji_clean does, and ChatError("invalid") as it."""
    return emoji.EMOJI_DATA[reaction_emoji_clean(canonical)]["en"]


@functools.cache
def fully_qualified_by_name() -> dict[str, str]:
    """English name (":red_heart:") -> the fully-qualified emoji of that name."""
    return {
        data["en"]: char
        for char, data in emoji.EMOJI_DATA.items()
        if data["status"] == FULLY_QUALIFIED
    }


@functools.cache
def emoji_by_shortcode() -> dict[str, str]:
    """Every name and alias (":thumbs_up:", ":+1:") -> its fully-qualified emoji.

    Some names belong to two emoji: ":cat:" is the alias of 🐱 (as on GitHub and
    Slack) and the English name of 🐈. As in the package's emojize(language="alias")
    the alias wins; tests check the two agree on every name.
    """
    by_name: dict[str, str] = {}
    fully_qualified = [
        (char, data)
        for char, data in emoji.EMOJI_DATA.items()
        if data["status"] == FULLY_QUALIFIED
    ]
    for char, data in fully_qualified:
        for alias in data.get("alias", ()):
            by_name.setdefault(alias, char)
    for char, data in fully_qualified:
        by_name.setdefault(data["en"], char)
    return by_name


@functools.cache
def picker_index() -> PickerIndex:
    """The browser picker's emoji, faces first, with their names; built once."""
    chosen = sorted(
        (
            char
            for char, data in emoji.EMOJI_DATA.items()
            if data["status"] == FULLY_QUALIFIED
            and data["E"] <= PICKER_MAX_EMOJI_VERSION
            and SKIN_TONES.isdisjoint(char)
        ),
        key=picker_order,
    )
    return PickerIndex(common=COMMON, emoji=tuple(map(picker_entry, chosen)))


def picker_entry(char: str) -> PickerEntry:
    data = emoji.EMOJI_DATA[char]
    name = data["en"]
    by_name = emoji_by_shortcode()
    # Only the aliases that mean this emoji: the browser resolves :shortcodes:
    # from them, and must agree with the server.
    aliases = [
        alias
        for alias in dict.fromkeys(data.get("alias", ()))
        if alias != name and by_name.get(alias) == char
    ]
    return char, name.strip(":"), " ".join(alias.strip(":") for alias in aliases)


def picker_order(char: str) -> tuple[int, tuple[int, ...]]:
    first = ord(char[0])
    rank = next(
        (
            rank
            for rank, (start, end) in enumerate(BLOCK_ORDER)
            if start <= first <= end
        ),
        len(BLOCK_ORDER) + (first in REGIONAL_INDICATORS),
    )
    return rank, tuple(map(ord, char))
