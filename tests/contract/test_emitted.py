"""The verdicts on the frames the run sent (tests/contract/plugin.py records
them); the plugin runs these last."""

import pytest

from chat.realtime import catalog

from .plugin import RECORDING


def test_every_frame_sent_is_in_the_catalogue() -> None:
    if not RECORDING.frames:
        pytest.skip("no frame was sent in this run")
    assert not RECORDING.violations, (
        "frames that do not match chat/realtime/catalog.py:\n" + RECORDING.report()
    )


def test_every_catalogue_entry_was_sent() -> None:
    """No dead entry in the catalogue, and the suite sends every event."""
    if not RECORDING.whole_suite:
        pytest.skip("checked only when the whole in-process suite runs")
    unsent = [entry for entry in catalog.entries() if not RECORDING.seen[entry]]
    assert not unsent, f"never sent in the run: {', '.join(unsent)}"
