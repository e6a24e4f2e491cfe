"""The pure rules for user text (chat/rules.py): what may be shown to others."""

import pytest

from chat.domain.errors import ChatError
from chat.domain.rules import message_body_clean, topic_clean

BIDI_CONTROLS = [
    *map(chr, range(0x202A, 0x202F)),  # LRE RLE PDF LRO RLO
    *map(chr, range(0x2066, 0x206A)),  # LRI RLI FSI PDI
]
INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c\u200d",  # zero-width non-joiner, joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark, zero-width no-break space
    "\u200e\u200f",  # left-to-right, right-to-left marks
    "\u00ad",  # soft hyphen
    "\u3164",  # Hangul filler: a letter that draws nothing
    "\u2800",  # blank Braille pattern
    "\u034f\ufe0f",  # combining grapheme joiner, variation selector
    "\u00a0\u3000\u2028",  # no-break and ideographic spaces, line separator
    " \u200b \u2060\t\u200d ",
]


def refused(clean, text: str) -> ChatError:
    with pytest.raises(ChatError) as error:
        clean(text)
    return error.value


@pytest.mark.parametrize("control", BIDI_CONTROLS)
def test_bidi_embedding_override_and_isolate_controls_are_refused(control):
    # "abc\u202egnp.exe" shows as "abcexe.png".
    error = refused(message_body_clean, f"abc{control}gnp.exe")
    assert error.code == "invalid" and "bidirectional" in error.msg
    assert refused(topic_clean, f"see {control}fdp.exe").code == "invalid"


@pytest.mark.parametrize("text", INVISIBLE)
def test_a_message_with_no_visible_character_is_refused(text):
    error = refused(message_body_clean, text)
    assert error.code == "invalid"
    assert error.msg in ("message has no visible character", "message is empty")
    if text.strip():
        assert refused(topic_clean, text).code == "invalid"
    else:
        assert topic_clean(text) == ""  # no topic, which a room may have


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "a\u200bb",  # zero-width characters among visible ones are fine
        "👍🏽",
        "👨\u200d👩\u200d👧",  # a family emoji: joiners between visible emoji
        "❤\ufe0f",
        "שלום, world",  # right-to-left text needs no bidi control
        "\u200f\u05e9\u05dc\u05d5\u05dd\u200f",  # and the marks stay allowed
        "مرحبا",
        "e\u0301",  # a letter and a combining accent
        "한국어",  # Hangul: only the filler is blank
        ".",
    ],
)
def test_visible_text_is_kept_as_written(text):
    assert message_body_clean(f"  {text}\n") == text
    assert topic_clean(text) == text


def test_a_topic_may_be_empty_but_not_too_long():
    assert topic_clean("   ") == ""
    assert topic_clean("t" * 250) == "t" * 250
    assert refused(topic_clean, "t" * 251).code == "too_long"
