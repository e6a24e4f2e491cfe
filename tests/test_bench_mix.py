"""The fan-out benchmark's message mix (bench/mix.py): parsing `--mix` and choosing
each send's kind and target. The figures come from `python -m bench ramp --mix`."""

import pytest

from bench.__main__ import parse
from bench.mix import EMOJI, Chooser, Recent, parse_mix


def test_mix_parses_into_kinds() -> None:
    assert parse_mix("replies=0.1,reactions=0.2") == {"reply": 0.1, "reaction": 0.2}
    assert parse_mix(" reactions = 0.5 ") == {"reaction": 0.5}
    assert parse_mix("") == {}


@pytest.mark.parametrize(
    "text",
    [
        "replies",
        "edits=0.1",
        "replies=1.5",
        "replies=-0.1",
        "replies=0.6,reactions=0.5",
    ],
)
def test_mix_refuses_what_it_cannot_run(text: str) -> None:
    with pytest.raises(ValueError):
        parse_mix(text)


def test_bad_mix_is_a_usage_error(capsys) -> None:
    assert parse(["ramp", "--mix", "replies=0.1,reactions=0.2"]).mix == {
        "reply": 0.1,
        "reaction": 0.2,
    }
    with pytest.raises(SystemExit):
        parse(["ramp", "--mix", "edits=0.1"])
    assert "edits=0.1" in capsys.readouterr().err
    assert parse(["ramp"]).mix is None


def test_chooser_keeps_the_shares_and_repeats_itself() -> None:
    chooser = Chooser({"reply": 0.1, "reaction": 0.2}, seed=7)
    kinds = [chooser.kind() for _ in range(20_000)]
    assert abs(kinds.count("reply") / len(kinds) - 0.1) < 0.01
    assert abs(kinds.count("reaction") / len(kinds) - 0.2) < 0.01
    assert abs(kinds.count("message") / len(kinds) - 0.7) < 0.01
    again = Chooser({"reply": 0.1, "reaction": 0.2}, seed=7)
    assert [again.kind() for _ in range(20_000)] == kinds
    assert {Chooser({}, seed=1).kind() for _ in range(100)} == {"message"}
    assert chooser.emoji() in EMOJI


def test_recent_keeps_the_latest_ids_once_and_roots_apart() -> None:
    recent = Recent()
    chooser = Chooser({}, seed=1)
    assert chooser.pick(recent.top) is None
    for _member in range(3):  # every member of the room receives the same frames
        recent.seen(10, reply=False)
        recent.seen(11, reply=True)
        recent.seen(12, reply=False)
    assert list(recent.any) == [10, 11, 12]
    assert list(recent.top) == [10, 12]
    for message_id in range(13, 100):
        recent.seen(message_id, reply=False)
    assert list(recent.any) == list(range(84, 100))
    assert chooser.pick(recent.top) in range(84, 100)


def test_mentions_are_a_kind_of_their_own() -> None:
    assert parse_mix("mentions=0.1") == {"mention": 0.1}
    chooser = Chooser({"mention": 0.25}, seed=7)
    kinds = [chooser.kind() for _ in range(4000)]
    assert 0.2 < kinds.count("mention") / len(kinds) < 0.3
    assert set(kinds) == {"mention", "message"}
