"""What a worker tells its operators and does when its channel layer fails:
/healthz, /metrics, log lines, refusing sends while the layer is down, and making
clients resync when the layer reconnects."""

import asyncio
import logging
import time

import pytest
import redis.exceptions
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import AsyncClient

from chat.domain import events
from chat.infra import ratelimit, worker
from chat.infra.logcontext import ContextFilter
from chat.models import Message
from chat.realtime.session import Delivered
from chat.web import views

pytestmark = pytest.mark.django_db(transaction=True)

needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="only on the Redis channel layer"
)


async def test_sends_are_refused_while_the_layer_is_down(amake_user, sockets):
    ana = await amake_user("ana")
    a = await sockets(ana)
    await a.join("general")
    worker.layer_failed(ConnectionError("test"))
    try:
        reply = await a.request(
            "send_message", {"room": "general", "message": "lost?", "clientId": "x"}
        )
        assert reply["code"] == "unavailable" and reply["retryAfter"] > 0
        # Refused before anything was stored: a retry cannot make a duplicate.
        assert await Message.objects.acount() == 0
        # Reads still work.
        assert (await a.request("list_rooms"))["status"] == "ok"
    finally:
        worker.layer_ok()
    assert (await a.say("general", "now", clientId="x"))["duplicate"] is False


class BrokenLayer:
    """events.send while Redis fails: it raises as a refused connection does, or
    hangs as a stopped Redis does; the real one again once `mend`ed."""

    def __init__(self, monkeypatch, how: str = "refused") -> None:
        self.real = events.send
        self.how = how
        monkeypatch.setattr(events, "send", self.send)
        # The probe goes round events.send: it must not find the layer mended.
        monkeypatch.setattr(worker, "PROBE_EVERY_DOWN", 60)

    async def send(self, broadcasts) -> None:
        if self.how == "ok":
            return await self.real(broadcasts)
        if self.how == "hung":
            await asyncio.sleep(60)
        raise redis.exceptions.ConnectionError("Connection refused")

    def mend(self) -> None:
        self.how = "ok"


async def two_in_general(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    await a.join("general")
    await b.join("general")
    await a.drain()
    await b.drain()
    return a, b


async def test_a_send_stored_before_its_broadcast_fails_is_acknowledged(
    amake_user, sockets, monkeypatch
):
    """The message is stored when the publish fails: `unavailable` would tell the
    client that nothing was, and one without a clientId would post it twice."""
    a, b = await two_in_general(amake_user, sockets)
    layer = BrokenLayer(monkeypatch)
    try:
        reply = await a.request(
            "send_message", {"room": "general", "message": "stored", "clientId": "s"}
        )
        assert reply["status"] == "delivered", reply
        assert await Message.objects.filter(client_id="s").acount() == 1
        assert not worker.layer_is_up()
        # Refused now, before storing: the layer is known to be down.
        refused = await a.request("send_message", {"room": "general", "message": "x"})
        assert refused["code"] == "unavailable"
        assert await Message.objects.acount() == 1
        layer.mend()
    finally:
        worker.layer_ok()
    # The layer is back: the lost broadcast goes out, once to each socket.
    heard = await b.events("receive_message")
    assert [m["id"] for m in heard] == [reply["messageId"]]
    assert [m["id"] for m in await a.events("receive_message")] == [reply["messageId"]]
    again = await a.say("general", "stored", clientId="s")
    assert again["duplicate"] and again["messageId"] == reply["messageId"]


@pytest.mark.parametrize("event", ["edit_message", "delete_message", "private_message"])
async def test_changes_stored_before_their_broadcast_fails_are_acknowledged(
    amake_user, sockets, monkeypatch, event
):
    a, b = await two_in_general(amake_user, sockets)
    sent = await a.say("general", "first")
    await b.drain()
    data = {
        "edit_message": {"id": sent["messageId"], "message": "second"},
        "delete_message": {"id": sent["messageId"]},
        "private_message": {"toUsername": "ben", "message": "hi", "clientId": "d"},
    }[event]
    layer = BrokenLayer(monkeypatch)
    try:
        reply = await a.request(event, data)
        assert reply["status"] in ("ok", "delivered"), reply
        assert not worker.layer_is_up()
        layer.mend()
    finally:
        worker.layer_ok()
    message = await Message.objects.order_by("pk").alast()
    if event == "edit_message":
        assert message.body == "second"
        assert (await b.event("message_edited"))["seq"] == reply["seq"]
    elif event == "delete_message":
        assert message.deleted_at is not None
        assert (await b.event("message_deleted"))["seq"] == reply["seq"]
    else:
        assert message.client_id == "d" and message.pk == reply["messageId"]
        assert (await b.event("private_message"))["id"] == reply["messageId"]


async def test_a_hung_redis_refuses_a_send_within_the_deadline_storing_nothing(
    amake_user, sockets, monkeypatch
):
    async def hung_rate_limit(*args) -> None:
        await asyncio.sleep(60)

    a, _ = await two_in_general(amake_user, sockets)
    monkeypatch.setattr(ratelimit, "check", hung_rate_limit)
    monkeypatch.setattr(worker, "PROBE_EVERY_DOWN", 60)
    started = time.monotonic()
    try:
        reply = await a.request("send_message", {"room": "general", "message": "x"})
        took = time.monotonic() - started
        assert reply["code"] == "unavailable", reply
        assert took < worker.ADMIT_DEADLINE + 0.5, took
        assert await Message.objects.acount() == 0
    finally:
        worker.layer_ok()


async def test_a_deadline_missed_by_a_slow_redis_refuses_for_a_moment_only(
    amake_user, sockets, monkeypatch
):
    """Redis slow once (under load) rather than hung: the layer is checked again
    at once, not at the next periodic probe (5 s on)."""
    real_check = ratelimit.check

    async def slow_once(*args) -> None:
        monkeypatch.setattr(ratelimit, "check", real_check)
        await asyncio.sleep(worker.ADMIT_DEADLINE + 0.2)

    a, _ = await two_in_general(amake_user, sockets)
    monkeypatch.setattr(ratelimit, "check", slow_once)
    monkeypatch.setattr(worker, "PROBE_EVERY_DOWN", 0.1)
    reply = await a.request("send_message", {"room": "general", "message": "x"})
    assert reply["code"] == "unavailable"
    for _ in range(40):
        if worker.layer_is_up():
            break
        await asyncio.sleep(0.05)
    assert worker.layer_is_up()
    await a.say("general", "x")


async def test_a_broadcast_stuck_on_a_hung_redis_is_answered_stored_in_time(
    amake_user, sockets, monkeypatch
):
    a, b = await two_in_general(amake_user, sockets)
    layer = BrokenLayer(monkeypatch, "hung")
    started = time.monotonic()
    try:
        reply = await a.request(
            "send_message", {"room": "general", "message": "x", "clientId": "h"}
        )
        took = time.monotonic() - started
        assert reply["status"] == "delivered", reply
        assert took < worker.PUBLISH_DEADLINE + 0.5, took
        assert await Message.objects.filter(client_id="h").acount() == 1
        layer.mend()
    finally:
        worker.layer_ok()
    assert [m["id"] for m in await b.events("receive_message")] == [reply["messageId"]]


async def test_the_layer_monitor_notices_recovery(amake_user, sockets, monkeypatch):
    monkeypatch.setattr(worker, "PROBE_EVERY_DOWN", 0.05)
    ana = await amake_user("ana")
    await sockets(ana)
    worker.layer_failed(ConnectionError("test"))
    for _ in range(100):
        if worker.layer_is_up():
            break
        await asyncio.sleep(0.05)
    assert worker.layer_is_up()


@needs_redis
async def test_a_reconnected_layer_closes_sockets_with_1012(amake_user, sockets):
    """Redis pub/sub drops what is published while a subscriber is away: after its
    connection comes back, every socket is closed so its client resyncs."""
    import redis.asyncio

    ana = await amake_user("ana")
    a = await sockets(ana)
    await a.join("general")
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    try:
        # Cut this process's subscriber connection (only it: another test run may
        # share the Redis); redis-py reconnects and re-subscribes.
        for address in _subscriber_addresses():
            await client.client_kill_filter(_type="pubsub", addr=address)
    finally:
        await client.aclose()
    message = await asyncio.wait_for(a.communicator.output_queue.get(), 10)
    while message["type"] != "websocket.close":
        message = await asyncio.wait_for(a.communicator.output_queue.get(), 10)
    assert message["code"] == 1012
    a.closed = True


def _subscriber_addresses() -> list[str]:
    """host:port, as Redis sees them, of this process's layer subscriber sockets."""
    layer = get_channel_layer()._get_layer()
    addresses = []
    for shard in layer._shards:
        host, port = shard._pubsub.connection._writer.get_extra_info("sockname")[:2]
        addresses.append(f"{host}:{port}")
    assert addresses
    return addresses


def test_a_socket_sends_each_seq_once_in_any_order():
    delivered = Delivered(floor=10)
    assert [delivered.first_time(s) for s in (9, 10, 12, 11, 12, 13, 11)] == [
        False,
        False,
        True,
        True,
        False,
        True,
        False,
    ]
    assert (delivered.floor, delivered.above) == (13, set())


async def test_healthz_checks_the_database_and_the_layer():
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"] == {"database": "ok", "channel_layer": "ok"}
    assert body["worker"] == worker.name()


async def test_concurrent_health_checks_share_one_probe():
    replies = await asyncio.gather(*(AsyncClient().get("/healthz") for _ in range(20)))
    assert [r.status_code for r in replies] == [200] * 20


async def test_healthz_says_503_and_why_when_the_layer_fails(monkeypatch):
    async def broken() -> None:
        raise ConnectionError("refused")

    monkeypatch.setattr(worker, "layer_round_trip", broken)
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "channel_layer": "unreachable (ConnectionError)",
    }


async def test_metrics_count_sockets_messages_latency_and_errors(amake_user, sockets):
    before = await metrics_page()
    ana = await amake_user("ana")
    a = await sockets(ana)
    await a.join("general")
    await a.say("general", "counted")
    await a.request("send_message", {"room": "general", "message": ""})
    after = await metrics_page()
    assert after["chat_sockets_open"] == before["chat_sockets_open"] + 1
    sent = 'chat_messages_total{kind="room"}'
    assert after[sent] == before.get(sent, 0) + 1
    latency = 'chat_ack_latency_seconds_count{event="send_message"}'
    assert after[latency] == before.get(latency, 0) + 2
    invalid = 'chat_errors_total{code="invalid"}'
    assert after[invalid] == before.get(invalid, 0) + 1
    assert after[f'chat_worker_info{{worker="{worker.name()}"}}'] == 1


async def metrics_page() -> dict[str, float]:
    """/metrics as {sample with labels: value}."""
    page = await AsyncClient().get("/metrics")
    assert page.status_code == 200
    samples = {}
    for line in page.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_are_not_public(settings, rf):
    outsider = rf.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert views.metrics_page(outsider).status_code == 403
    settings.CHAT_METRICS_TOKEN = "s3cret"
    assert views.metrics_page(rf.get("/metrics")).status_code == 403  # loopback too
    bearer = rf.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret"
    )
    assert views.metrics_page(bearer).status_code == 200


def test_behind_a_proxy_metrics_need_the_token(settings, rf):
    """With proxy headers trusted, REMOTE_ADDR is the client's X-Forwarded-For:
    "127.0.0.1" from anyone must not open the page."""
    settings.CHAT_TRUST_PROXY_HEADERS = True
    settings.CHAT_METRICS_TOKEN = ""
    spoofed = rf.get("/metrics", REMOTE_ADDR="127.0.0.1")  # as daphne passes it
    assert views.metrics_page(spoofed).status_code == 403
    settings.CHAT_METRICS_TOKEN = "s3cret"
    bearer = rf.get(
        "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer s3cret"
    )
    assert views.metrics_page(bearer).status_code == 200
    assert views.metrics_page(spoofed).status_code == 403


async def test_x_forwarded_for_loopback_does_not_open_metrics_behind_a_proxy(settings):
    """The whole path, as daphne --proxy-headers hands it to the app."""
    settings.CHAT_TRUST_PROXY_HEADERS = True
    settings.CHAT_METRICS_TOKEN = ""
    page = await AsyncClient().get(
        "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1"
    )
    assert page.status_code == 403


async def test_log_lines_name_the_user_and_connection_not_the_message(
    amake_user, sockets, caplog
):
    ana = await amake_user("ana")
    caplog.handler.addFilter(ContextFilter())  # as settings.LOGGING does
    with caplog.at_level(logging.DEBUG, logger="chat"):
        a = await sockets(ana)
        await a.join("general")
        await a.say("general", "a secret body")
        await a.request("send_message", {"room": "nowhere!", "message": "x"})
    lines = [r for r in caplog.records if r.name.startswith("chat")]
    assert lines, "nothing logged"
    assert all(hasattr(r, "user") and hasattr(r, "conn") for r in lines)
    connected = [r for r in lines if r.getMessage().startswith("connected")]
    assert connected and connected[0].user == "ana" and connected[0].conn != "-"
    assert all("a secret body" not in r.getMessage() for r in lines)
