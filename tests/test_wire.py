"""Frames the worker writes straight to sockets (chat.infra.fast.wire) are the frames a
WebSocket server would send: a client library reads them back intact."""

import pytest
from autobahn.exception import Disconnected
from websockets.frames import Frame
from websockets.streams import StreamReader

from chat.infra.fast import wire
from chat.realtime.websocket import ChatConsumer


def read_frame(data: bytes) -> Frame:
    """Parse `data` as a client does (server frames are unmasked)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False, max_size=None)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_text_frame_carries_the_text_at_every_length_boundary(size):
    text = ("é" * size)[:size]  # two bytes a character: lengths cross boundaries
    frame = read_frame(wire.text_frame(text))
    assert frame.fin
    assert frame.opcode.name == "TEXT"
    assert frame.data.decode() == text


def test_an_unknown_server_gets_no_link():
    async def send(message):  # any ASGI server but daphne and uvicorn
        pass

    assert wire.link_for(send) is None


async def test_a_frame_for_a_connection_that_just_closed_is_dropped_quietly(caplog):
    """A broadcast handed straight to a socket can race its close: daphne then
    raises autobahn's Disconnected from the ASGI send. It used to escape to the
    fan-out, which logged an ERROR with a traceback for every such race."""

    async def closed(message):
        raise Disconnected("Attempt to send on a closed protocol")

    consumer = ChatConsumer()
    consumer.base_send = closed
    caplog.set_level("DEBUG", logger="chat.realtime.websocket")
    await consumer.transmit('{"event":"receive_message","data":{}}')
    assert "the connection has closed" in caplog.text
