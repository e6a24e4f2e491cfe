"""The event catalogue (chat.realtime.catalog): its checker, and that the code's
client events and error codes and docs/PROTOCOL.md say the same as it."""

import re
from pathlib import Path
from typing import get_args, get_type_hints, is_typeddict

import pytest

from chat.domain.errors import ChatError
from chat.realtime import catalog, dispatch

from .plugin import Recording

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"

MESSAGE = {
    "id": 42,
    "room": "general",
    "seq": 57,
    "username": "ana",
    "message": "hi",
    "html": "<p>hi</p>",
    "time": "2026-11-25T09:30:00.123Z",
    "clientId": None,
    "editedAt": None,
    "deleted": False,
    "reactions": [],
    "pinned": False,
    "saved": False,
}


def test_every_client_event_has_its_reply() -> None:
    assert set(catalog.ACKS) == set(dispatch.HANDLERS)


def test_error_codes_are_the_domains() -> None:
    assert set(get_args(catalog.ErrorCode)) == set(ChatError.HTTP_STATUS)


def test_a_frame_in_the_catalogue_passes() -> None:
    assert catalog.validate({"event": "receive_message", "data": MESSAGE}) == (
        "receive_message"
    )
    error = {"status": "error", "code": "rate_limited", "msg": "x", "retryAfter": 1}
    frame = {"event": "ack", "ack": "a1", "data": error}
    assert catalog.validate(frame, reply_to="join_room") == "ack(error)"
    page = {"status": "ok", "messages": [MESSAGE], "hasMore": False}
    frame = {"event": "ack", "ack": 3, "data": page}
    assert catalog.validate(frame, reply_to="get_history") == "ack(get_history)"
    assert catalog.validate(frame) == "ack"


@pytest.mark.parametrize(
    ("frame", "reply_to", "says"),
    [
        ({"event": "nope", "data": {}}, None, "unknown event 'nope'"),
        (
            {"event": "receive_message", "data": {**MESSAGE, "seq": "57"}},
            None,
            "receive_message: data.seq: str '57', not int",
        ),
        (
            {"event": "receive_message", "data": {**MESSAGE, "deleted": 0}},
            None,
            "receive_message: data.deleted: int 0, not bool",
        ),
        (
            {"event": "receive_message", "data": {**MESSAGE, "time": "today"}},
            None,
            "receive_message: data.time: 'today' is not a time",
        ),
        (
            {"event": "receive_message", "data": {**MESSAGE, "extra": 1}},
            None,
            "receive_message: data: unknown extra",
        ),
        (
            {"event": "kicked", "data": {"room": "general", "reason": ""}},
            None,
            "kicked: data: missing by",
        ),
        (
            {"event": "room_users", "data": {"room": "g", "users": ["a", 2]}},
            None,
            "room_users: data.users[1]: int 2, not str",
        ),
        (
            {"event": "room_users", "data": {"room": "g", "users": []}, "ack": 1},
            None,
            "frame: unknown ack",
        ),
        (
            {"event": "ack", "ack": 1, "data": {"status": "ok", "room": "g"}},
            "ping",
            "ack(ping): data: unknown room",
        ),
        (
            {"event": "ack", "ack": True, "data": {"status": "ok"}},
            "ping",
            "ack: bool True, not str or number",
        ),
        (
            {"event": "ack", "ack": 1, "data": {"status": "ok"}},
            "<bad frame>",
            "ack: '<bad frame>' is answered only with an error",
        ),
        (
            {
                "event": "ack",
                "ack": 1,
                "data": {"status": "ok", "messages": [{**MESSAGE, "id": None}]},
            },
            "get_history",
            "ack(get_history): data: missing hasMore",
        ),
        (
            {
                "event": "ack",
                "ack": 1,
                "data": {"status": "error", "code": "oops", "msg": "x"},
            },
            None,
            "ack: data.code: 'oops', not error code",
        ),
    ],
)
def test_a_frame_off_the_catalogue_is_refused_saying_where(
    frame: dict, reply_to: str | None, says: str
) -> None:
    with pytest.raises(catalog.FrameInvalid) as refused:
        catalog.validate(frame, reply_to=reply_to)
    assert str(refused.value) == says


# --- docs/PROTOCOL.md ---------------------------------------------------------------


def protocol_tables() -> list[dict[str, str]]:
    """The tables of PROTOCOL.md's "Server to client": first column -> second."""
    text = PROTOCOL.read_text()
    section = text[text.index("\n## Server to client") :]
    section = section[: section.index("\n## ", 1)]
    tables: list[dict[str, str]] = []
    in_table = False
    for line in section.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not in_table:  # the header row
            tables.append({})
            in_table = True
        elif not re.fullmatch(r"-+", cells[0]):
            tables[-1][cells[0].strip("`")] = cells[1]
    return tables


def objects_inside() -> set[type]:
    """The objects the events and replies hold in lists (Message, RoomEntry), and
    the objects those hold (ReactionSummary)."""
    found: set[type] = set()
    shapes = [*catalog.EVENTS.values(), *catalog.ACKS.values()]
    while shapes:
        for kind in get_type_hints(shapes.pop()).values():
            inner = {arg for arg in get_args(kind) if is_typeddict(arg)} - found
            found |= inner
            shapes += inner
    return found


def test_protocol_md_lists_the_catalogue() -> None:
    events, replies, objects = protocol_tables()
    assert set(events) == {*catalog.EVENTS, "ack"}
    for name, shape in catalog.EVENTS.items():
        assert events[name] == catalog.fields(shape), name
    assert set(replies) == {*catalog.ACKS, "any, failed"}
    for name, shape in catalog.ACKS.items():
        assert replies[name] == catalog.fields(shape), name
    assert replies["any, failed"] == catalog.fields(catalog.ErrorReply)
    inside = {shape.__name__: shape for shape in objects_inside()}
    assert set(objects) == set(inside)
    for name, shape in inside.items():
        assert objects[name] == catalog.fields(shape), name


def test_the_recording_names_each_violation_and_its_tests() -> None:
    recording = Recording()
    bad = '{"event":"user_typing","data":{"room":"g","username":"a","isTyping":1}}'
    for test in ("tests/test_a.py::one", "tests/test_b.py::two"):
        recording.test = test
        recording.check(bad, None)
    recording.check('{"event":"ack","ack":1,"data":{"status":"ok"}}', "ping")
    recording.check("not json", None)
    assert recording.frames == 4
    assert recording.seen == {"ack(ping)": 1}
    report = recording.report()
    assert "user_typing: data.isTyping: int 1, not bool\n    2 frame(s)" in report
    assert "tests/test_a.py::one, tests/test_b.py::two" in report
    assert "not JSON" in report
