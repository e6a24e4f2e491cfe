"""Every frame the server sends in the test run, checked against the event
catalogue (chat.realtime.catalog).

Every frame's JSON passes through chat.domain.payloads.encode (a session's own
frames and each broadcast, once however many receive it): a session fixture wraps
it, decodes what it wrote and validates that, so what is checked is what clients
get. An ack does not say which request it answers, so chat.realtime.dispatch.handle
is wrapped too: it notes the client event it is handling in a context variable,
which the ack's encode, in the same task, reads.

Frames sent by the servers that tests/e2e and tests/cluster start are not seen:
they are other processes. The verdicts are tests/contract/test_emitted.py's, which
this plugin moves to the end of the run.
"""

import contextvars
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chat.domain import payloads
from chat.realtime import catalog, dispatch

TESTS = Path(__file__).resolve().parent.parent
VERDICTS = Path(__file__).with_name("test_emitted.py")
OUTSIDE = "<outside a test>"
EXAMPLE_MAX = 400

# The client event whose frame is being handled: what an ack answers.
_handling: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "handling", default=None
)


@dataclass
class Violation:
    """One way frames broke the catalogue: the tests that sent such a frame."""

    tests: list[str] = field(default_factory=list)
    count: int = 0
    example: str = ""


@dataclass
class Recording:
    frames: int = 0
    seen: Counter[str] = field(default_factory=Counter)
    violations: dict[str, Violation] = field(default_factory=dict)
    test: str = OUTSIDE
    # Whether this run selected the whole in-process suite (see collection_finish).
    whole_suite: bool = False
    deselected: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, text: str, reply_to: str | None) -> None:
        """Count the frame `text` under its catalogue entry, or as a violation;
        never raise into the code that sent it."""
        try:
            # The standard parser: JSON numbers of any size (an echoed ack may be
            # one), which orjson refuses.
            entry = catalog.validate(json.loads(text), reply_to=reply_to)
        except (catalog.FrameInvalid, ValueError, RecursionError) as error:
            problem = str(error)
            if not isinstance(error, catalog.FrameInvalid):
                problem = f"not JSON: {error}"
            with self.lock:
                self.frames += 1
                violation = self.violations.setdefault(problem, Violation())
                violation.count += 1
                if self.test not in violation.tests:
                    violation.tests.append(self.test)
                violation.example = violation.example or text[:EXAMPLE_MAX]
            return
        with self.lock:
            self.frames += 1
            self.seen[entry] += 1

    def report(self) -> str:
        lines = []
        for error, violation in self.violations.items():
            tests = ", ".join(violation.tests[:5])
            more = len(violation.tests) - 5
            lines.append(
                f"{error}\n    {violation.count} frame(s), from {tests}"
                + (f" and {more} more tests" if more > 0 else "")
                + f"\n    e.g. {violation.example}"
            )
        return "\n".join(lines)


RECORDING = Recording()


def _client_event(text: Any) -> str:
    """The event a client frame names, as far as it can be read."""
    try:
        event = json.loads(text).get("event")
    except (ValueError, RecursionError, TypeError, AttributeError):
        return "<bad frame>"
    return event if isinstance(event, str) else "<bad frame>"


@pytest.fixture(scope="session", autouse=True)
def record_frames() -> Iterator[Recording]:
    encode, handle = payloads.encode, dispatch.handle

    def recorded_encode(frame: dict[str, Any]) -> str:
        text = encode(frame)
        RECORDING.check(text, _handling.get())
        return text

    async def noted_handle(session: Any, text: str | None) -> None:
        token = _handling.set(_client_event(text))
        try:
            await handle(session, text)
        finally:
            _handling.reset(token)

    payloads.encode, dispatch.handle = recorded_encode, noted_handle
    try:
        yield RECORDING
    finally:
        payloads.encode, dispatch.handle = encode, handle


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Any:
    RECORDING.test = item.nodeid
    try:
        return (yield)
    finally:
        RECORDING.test = OUTSIDE


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The verdicts run last, after every frame is in."""
    items.sort(key=lambda item: item.path == VERDICTS)


def pytest_deselected(items: list[pytest.Item]) -> None:
    RECORDING.deselected = True


def pytest_collection_finish(session: pytest.Session) -> None:
    # The check that every catalogue entry was sent holds only for the whole
    # in-process suite: every tests/test_*.py file collected (tests/e2e and
    # tests/cluster send from other processes, so they do not count) and nothing
    # deselected (-k, -m). A run of some files or tests (test_consumers.py with
    # tests/contract, say) sends only some events, and that check is skipped.
    selected = {item.path for item in session.items}
    suite = set(TESTS.glob("test_*.py"))
    RECORDING.whole_suite = (
        suite <= selected and VERDICTS in selected and not RECORDING.deselected
    )
