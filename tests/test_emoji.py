"""Reaction emoji: what is one, its canonical form and name, and the picker's data
and the view that serves it."""

import emoji
import orjson
import pytest
from django.urls import path

from chat.domain.emoji import (
    COMMON,
    PICKER_MAX_EMOJI_VERSION,
    REACTION_INPUT_MAX,
    SKIN_TONES,
    emoji_by_shortcode,
    picker_index,
    reaction_emoji_clean,
    shortcode,
)
from chat.domain.errors import ChatError
from chat.web import emoji as emoji_views

# The view's URL for these tests only (chatproject/urls.py is not theirs to change).
urlpatterns = [path("emoji.json", emoji_views.emoji_index, name="emoji_index")]
URL = "/emoji.json"


# --- reaction_emoji_clean -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("👍", "👍"),
        (":thumbs_up:", "👍"),
        (":thumbsup:", "👍"),
        (":+1:", "👍"),
        (":heart:", "❤️"),
        (":red_heart:", "❤️"),
        # Unqualified (no U+FE0F): as typed on some keyboards.
        ("\u2764", "\u2764\ufe0f"),
        ("\u263a", "\u263a\ufe0f"),
        ("1\u20e3", "1\ufe0f\u20e3"),
        # Minimally qualified: the FE0F inside the ZWJ sequence is missing.
        ("👨\u200d❤\u200d👨", "👨\u200d❤\ufe0f\u200d👨"),
        ("👍🏽", "👍🏽"),
        (":thumbs_up_medium_skin_tone:", "👍🏽"),
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
        ("🇺🇸", "🇺🇸"),
        (":United_States:", "🇺🇸"),
        (":flag_for_United_States:", "🇺🇸"),
        # The alias wins over another emoji's English name, as in emojize().
        (":cat:", "🐱"),
        (":cat_face:", "🐱"),
        # Names are case-sensitive, as in the package: two different emoji.
        (":Japan:", "🇯🇵"),
        (":japan:", "🗾"),
        # Newer than the picker offers, still a reaction.
        ("\U0001fae9", "\U0001fae9"),
        (" 👍\n", "👍"),
    ],
)
def test_a_reaction_is_one_emoji_in_its_fully_qualified_form(value, expected):
    assert reaction_emoji_clean(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "a reaction is one emoji"),
        (1, "a reaction is one emoji"),
        (["👍"], "a reaction is one emoji"),
        (b"\xf0\x9f\x91\x8d", "a reaction is one emoji"),
        ("", "empty"),
        ("  ", "empty"),
        ("hello", "not an emoji"),
        ("::", "not an emoji"),
        ("👍👍", "only one emoji"),
        ("👍❤️", "only one emoji"),
        ("👍 nice", "without other text"),
        ("nice 👍", "without other text"),
        # A text presentation selector, or one on an emoji that takes none.
        ("\u2764\ufe0e", "without other text"),
        (":nope:", "no emoji has that :shortcode:"),
        (":thumbs up:", "no emoji has that :shortcode:"),
        (":Thumbs_Up:", "no emoji has that :shortcode:"),
        # A component's name is not an emoji's.
        (":light_skin_tone:", "no emoji has that :shortcode:"),
        ("x" * (REACTION_INPUT_MAX + 1), "too long"),
        ("👍" * (REACTION_INPUT_MAX + 1), "too long"),
        # Components and bare joiners.
        ("🏻", ":light_skin_tone: is only a part of an emoji"),
        ("🦰", ":red_hair: is only a part of an emoji"),
        ("\u200d", "not an emoji"),
        ("\ufe0f", "not an emoji"),
        ("\U0001f1e6", "not an emoji"),
        ("👍\u200d", "without other text"),
    ],
)
def test_anything_else_is_refused_saying_why(value, reason):
    with pytest.raises(ChatError) as refused:
        reaction_emoji_clean(value)
    assert refused.value.code == "invalid"
    assert reason in refused.value.msg
    assert ":thumbs_up:" in refused.value.msg


def test_every_form_in_the_data_becomes_its_fully_qualified_emoji_or_is_refused():
    fully_qualified = emoji.STATUS["fully_qualified"]
    component = emoji.STATUS["component"]
    for char, data in emoji.EMOJI_DATA.items():
        if data["status"] == component:
            with pytest.raises(ChatError):
                reaction_emoji_clean(char)
            continue
        canonical = reaction_emoji_clean(char)
        assert emoji.EMOJI_DATA[canonical]["status"] == fully_qualified
        assert emoji.EMOJI_DATA[canonical]["en"] == data["en"]


def test_the_length_cap_leaves_room_for_every_emoji_and_name():
    assert max(map(len, emoji.EMOJI_DATA)) <= REACTION_INPUT_MAX
    assert max(map(len, emoji_by_shortcode())) <= REACTION_INPUT_MAX


def test_shortcodes_mean_what_the_package_emojize_makes_of_them():
    for name, char in emoji_by_shortcode().items():
        assert emoji.emojize(name, language="alias") == char, name


def test_shortcode_is_the_display_name():
    assert shortcode("👍") == ":thumbs_up:"
    assert shortcode("\u2764") == ":red_heart:"
    assert shortcode(":+1:") == ":thumbs_up:"
    assert shortcode("👍🏽") == ":thumbs_up_medium_skin_tone:"
    with pytest.raises(ChatError):
        shortcode("hi")


# --- The picker's index ---------------------------------------------------------------


def test_the_picker_index_is_fully_qualified_emoji_up_to_15_without_skin_tones():
    index = picker_index()
    chars = [char for char, _, _ in index.emoji]
    # 1870 with emoji 2.16.0; bounds, so that a patch release of the data passes.
    assert 1800 < len(chars) < 2000
    assert len(set(chars)) == len(chars)
    for char in chars:
        data = emoji.EMOJI_DATA[char]
        assert data["status"] == emoji.STATUS["fully_qualified"]
        assert data["E"] <= PICKER_MAX_EMOJI_VERSION
        assert SKIN_TONES.isdisjoint(char)
    assert index is picker_index()


def test_the_picker_index_starts_with_faces_and_ends_with_flags():
    chars = [char for char, _, _ in picker_index().emoji]
    assert chars[:3] == ["😀", "😁", "😂"]
    assert chars[-1] == "🇿🇼"
    # A ZWJ sequence follows its base.
    assert chars.index("👨\u200d⚕\ufe0f") == chars.index("👨") + 1


def test_the_common_emoji_come_first_and_are_in_the_index():
    index = picker_index()
    assert index.common == COMMON
    assert index.common[:3] == ("👍", "👎", "❤️")
    assert set(index.common) <= {char for char, _, _ in index.emoji}


def test_every_picker_entry_names_itself_and_round_trips():
    for char, name, aliases in picker_index().emoji:
        assert reaction_emoji_clean(char) == char
        assert f":{name}:" == shortcode(char)
        assert name and ":" not in name
        for alias in aliases.split():
            assert reaction_emoji_clean(f":{alias}:") == char, alias
    assert ("👍", "thumbs_up", "thumbsup +1") in picker_index().emoji


def test_the_browser_resolves_shortcodes_from_the_index_as_the_server_does():
    """static/chat/emoji.js: aliases first, then names, the first one kept."""
    entries = picker_index().emoji
    by_name: dict[str, str] = {}
    for char, _, aliases in entries:
        for alias in aliases.split():
            by_name.setdefault(alias, char)
    for char, name, _ in entries:
        by_name.setdefault(name, char)
    for name, char in by_name.items():
        assert reaction_emoji_clean(f":{name}:") == char, name
    # 🐈's name is "cat", but :cat: is 🐱 (its alias) on both sides.
    assert by_name["cat"] == "🐱"


def test_the_picker_index_json_is_compact():
    body = orjson.dumps(picker_index())
    # Measured with emoji 2.16.0: 71 811 bytes, 21 974 gzipped (1870 emoji).
    assert len(body) < 80_000
    data = orjson.loads(body)
    assert set(data) == {"common", "emoji"}
    assert data["emoji"][0] == ["😀", "grinning_face", "grinning"]


# --- The view -------------------------------------------------------------------------


@pytest.mark.urls(__name__)
def test_the_index_is_served_to_anyone_as_cacheable_json(client):
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert orjson.loads(response.content) == orjson.loads(orjson.dumps(picker_index()))
    assert response["ETag"].startswith('"') and len(response["ETag"]) == 34
    assert "max-age=86400" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]


@pytest.mark.urls(__name__)
def test_a_browser_with_the_current_copy_gets_a_bodyless_304(client):
    etag = client.get(URL)["ETag"]
    response = client.get(URL, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert "max-age=86400" in response["Cache-Control"]
    assert client.get(URL, headers={"If-None-Match": '"old"'}).status_code == 200


@pytest.mark.urls(__name__)
def test_the_index_answers_head_and_refuses_writes(client):
    head = client.head(URL)
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"]
    for method in (client.post, client.put, client.delete):
        response = method(URL)
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"
