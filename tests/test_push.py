"""Web Push: subscriptions kept per device, and pushes that a push service of our
own (on loopback) receives, checks the VAPID signature of, and decrypts with the
browser keys the test made, as a browser's push service and the browser would."""

import base64
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from chat.domain import services
from chat.domain.errors import ChatError
from chat.domain.services.push import (
    PUSH_SUBSCRIPTIONS_MAX,
    push_subscription_delete,
    push_subscription_save,
    push_subscriptions_clear,
)
from chat.infra import vapid
from chat.jobs import push
from chat.jobs.push import PushRetry, push_send
from chat.jobs.runner import backoff
from chat.models import PushSubscription

from .jobs import make_due_now, run_jobs

pytestmark = pytest.mark.django_db

SUBJECT = "mailto:ops@example.com"
PAYLOAD = {
    "title": "bob in #general",
    "body": "@ana lunch? 🍜",
    "url": "/rooms/general/",
    "tag": "room-general",
    "room": "general",
    "messageId": 42,
}


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- A push service and a browser of our own -------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class PushService:
    """Answers POSTs on 127.0.0.1 with 201, or the status set for a path."""

    origin: str
    received: list[Received] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    slow: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return self.origin + path

    def to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            service.received.append(Received(self.path, headers, body))
            if self.path in service.slow:
                time.sleep(1.5)
            if self.path in service.redirects:
                self.send_response(307)
                self.send_header("Location", service.url(service.redirects[self.path]))
            else:
                self.send_response(service.answers.get(self.path, 201))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    service.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


@dataclass
class Browser:
    """A browser's push keys: what it subscribes with, and decrypts with."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> "Browser":
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962,
                serialization.PublicFormat.UncompressedPoint,
            )
        )

    def subscribe(self, user: Any, endpoint: str) -> PushSubscription:
        subscription, _ = push_subscription_save(
            user=user, endpoint=endpoint, p256dh=self.p256dh, auth=b64url(self.auth)
        )
        return subscription

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body,
            private_key=self.private_key,
            auth_secret=self.auth,
            version="aes128gcm",
        )
        return json.loads(plain)


@pytest.fixture
def keys(settings) -> tuple[str, str]:
    """The site's VAPID pair, set as the environment would."""
    private, public = vapid.new_key_pair()
    settings.VAPID_PRIVATE_KEY = private
    settings.VAPID_PUBLIC_KEY = public
    settings.VAPID_SUBJECT = SUBJECT
    settings.CHAT_PUSH_ALLOW_LOOPBACK = True
    return private, public


def vapid_claims(authorization: str, public_key: str) -> dict[str, Any]:
    """The claims of an RFC 8292 `vapid t=JWT, k=KEY` header, after checking that
    KEY is the site's and that the JWT is ES256-signed by it."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    assert fields["k"] == public_key
    header, claims, signature = fields["t"].split(".")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    assert len(raw) == 64
    signer = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), unb64url(public_key)
    )
    # Raises InvalidSignature on a forgery.
    signer.verify(
        encode_dss_signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        ),
        f"{header}.{claims}".encode(),
        ec.ECDSA(hashes.SHA256()),
    )
    return json.loads(unb64url(claims))


# --- Sending -------------------------------------------------------------------


def test_a_push_arrives_signed_and_decrypts_to_the_payload(
    make_user, keys, push_service
):
    ana = make_user("ana")
    phone = Browser.new()
    phone.subscribe(ana, push_service.url("/push/ana-phone"))

    assert push_send(ana.pk, PAYLOAD) == 1

    [request] = push_service.received
    assert request.path == "/push/ana-phone"
    assert request.headers["content-encoding"] == "aes128gcm"
    assert request.headers["ttl"] == str(24 * 60 * 60)
    assert request.headers["urgency"] == "high"
    claims = vapid_claims(request.headers["authorization"], keys[1])
    assert claims["aud"] == push_service.origin
    assert claims["sub"] == SUBJECT
    assert time.time() < claims["exp"] <= time.time() + 24 * 60 * 60
    assert phone.decrypt(request.body) == PAYLOAD


def test_each_device_of_the_member_gets_its_own_copy_and_nobody_else(
    make_user, keys, push_service
):
    ana, ben = make_user("ana"), make_user("ben")
    phone, laptop, bens = Browser.new(), Browser.new(), Browser.new()
    phone.subscribe(ana, push_service.url("/phone"))
    laptop.subscribe(ana, push_service.url("/laptop"))
    bens.subscribe(ben, push_service.url("/ben"))

    assert push_send(ana.pk, PAYLOAD, urgency="normal") == 2

    assert sorted(r.path for r in push_service.received) == ["/laptop", "/phone"]
    [to_phone], [to_laptop] = push_service.to("/phone"), push_service.to("/laptop")
    assert phone.decrypt(to_phone.body) == PAYLOAD
    assert laptop.decrypt(to_laptop.body) == PAYLOAD
    assert to_phone.headers["urgency"] == "normal"


def test_a_long_message_is_cut_to_what_a_notification_shows(
    make_user, keys, push_service
):
    ana = make_user("ana")
    phone = Browser.new()
    phone.subscribe(ana, push_service.url("/phone"))

    push_send(ana.pk, {**PAYLOAD, "body": "word " * 200})

    body = phone.decrypt(push_service.received[0].body)["body"]
    assert len(body) == 200
    assert body.startswith("word word") and body.endswith("…")


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_forgot_is_deleted(
    make_user, keys, push_service, status
):
    ana = make_user("ana")
    Browser.new().subscribe(ana, push_service.url("/gone"))
    Browser.new().subscribe(ana, push_service.url("/live"))
    push_service.answers["/gone"] = status

    assert push_send(ana.pk, PAYLOAD) == 1

    endpoints = PushSubscription.objects.values_list("endpoint", flat=True)
    assert list(endpoints) == [push_service.url("/live")]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_push_service_failing_for_now_makes_the_job_retry(
    make_user, keys, push_service, status
):
    ana = make_user("ana")
    Browser.new().subscribe(ana, push_service.url("/busy"))
    Browser.new().subscribe(ana, push_service.url("/live"))
    push_service.answers["/busy"] = status

    with pytest.raises(PushRetry):
        push_send(ana.pk, PAYLOAD)

    # Every device was tried first, and none is forgotten.
    assert {r.path for r in push_service.received} == {"/busy", "/live"}
    assert PushSubscription.objects.filter(user=ana).count() == 2


@pytest.mark.django_db(transaction=True)
def test_only_the_devices_that_failed_are_pushed_to_again(
    make_user, keys, push_service
):
    ana, ben = make_user("ana"), make_user("ben")
    busy = Browser.new()
    busy.subscribe(ana, push_service.url("/busy"))
    Browser.new().subscribe(ana, push_service.url("/live"))
    push_service.answers["/busy"] = 503
    sent = services.direct_message_send(user=ben, to_username="ana", body="lunch?")

    run_jobs()  # the message's job: the live device has it, the busy one not yet
    assert sorted(r.path for r in push_service.received) == ["/busy", "/live"]
    [retry] = DBTaskResult.objects.filter(status="READY")
    assert retry.task_path.endswith("push_again")
    assert timedelta(seconds=5) < retry.run_after - timezone.now() <= backoff(1)

    push_service.answers["/busy"] = 201
    make_due_now()
    run_jobs()
    paths = [r.path for r in push_service.received]
    assert sorted(paths) == ["/busy", "/busy", "/live"]
    assert busy.decrypt(push_service.to("/busy")[-1].body)["messageId"] == (
        sent.message.pk
    )
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_an_unreachable_push_service_makes_the_job_retry(make_user, keys, settings):
    ana = make_user("ana")
    # A port nobody listens on (just closed).
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    Browser.new().subscribe(ana, f"http://127.0.0.1:{port}/push")

    with pytest.raises(PushRetry):
        push_send(ana.pk, PAYLOAD)
    assert PushSubscription.objects.filter(user=ana).exists()


def test_a_push_service_that_does_not_answer_in_time_makes_the_job_retry(
    make_user, keys, push_service, monkeypatch
):
    monkeypatch.setattr(push, "PUSH_TIMEOUT", 0.3)
    ana = make_user("ana")
    Browser.new().subscribe(ana, push_service.url("/slow"))
    push_service.slow.add("/slow")

    started = time.monotonic()
    with pytest.raises(PushRetry):
        push_send(ana.pk, PAYLOAD)
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("status", [400, 403, 413])
def test_a_refused_push_is_not_retried_and_the_device_is_kept(
    make_user, keys, push_service, status
):
    ana = make_user("ana")
    Browser.new().subscribe(ana, push_service.url("/refuses"))
    push_service.answers["/refuses"] = status

    assert push_send(ana.pk, PAYLOAD) == 0
    assert PushSubscription.objects.filter(user=ana).exists()


def test_a_redirect_is_not_followed(make_user, keys, push_service):
    ana = make_user("ana")
    Browser.new().subscribe(ana, push_service.url("/moved"))
    push_service.redirects["/moved"] = "/elsewhere"

    assert push_send(ana.pk, PAYLOAD) == 0
    assert [r.path for r in push_service.received] == ["/moved"]


def test_nothing_is_sent_when_push_is_off(make_user, keys, push_service, settings):
    ana = make_user("ana")
    Browser.new().subscribe(ana, push_service.url("/phone"))
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""
    settings.DEBUG = False

    assert push_send(ana.pk, PAYLOAD) == 0
    assert push_service.received == []


# --- Subscriptions ----------------------------------------------------------------


@pytest.fixture
def loopback_allowed(settings) -> None:
    settings.CHAT_PUSH_ALLOW_LOOPBACK = True


def save(user: Any, endpoint: str, browser: Browser | None = None, **keys: str):
    browser = browser or Browser.new()
    fields = {"p256dh": browser.p256dh, "auth": b64url(browser.auth), **keys}
    return push_subscription_save(user=user, endpoint=endpoint, **fields)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://web.push.apple.com:443/QGuQ",
    ],
)
def test_push_services_endpoints_are_taken(make_user, settings, endpoint):
    settings.CHAT_PUSH_ALLOW_LOOPBACK = False
    subscription, created = save(make_user("ana"), endpoint)
    assert created
    assert subscription.endpoint == endpoint


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "fcm.googleapis.com/fcm/send/abc",
        "http://fcm.googleapis.com/fcm/send/abc",
        "ftp://fcm.googleapis.com/abc",
        "https://fcm.googleapis.com:8443/abc",
        "https://user:pw@fcm.googleapis.com/abc",
        "https://10.0.0.5/push",
        "https://192.168.1.1/push",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/push",
        "https://metadata/computeMetadata",
        "https://printer.local/push",
        "https://127.0.0.1/push",
        "http://127.0.0.1:8000/push",
        "https://localhost/push",
        "https://[::1/push",
        "https://fcm.googleapis.com/" + "a" * 1000,
        None,
        ["https://fcm.googleapis.com/abc"],
    ],
)
def test_other_endpoints_are_refused(make_user, settings, endpoint):
    settings.CHAT_PUSH_ALLOW_LOOPBACK = False
    with pytest.raises(ChatError) as refused:
        save(make_user("ana"), endpoint)
    assert refused.value.code in ("invalid", "too_long")
    assert not PushSubscription.objects.exists()


def test_loopback_endpoints_only_where_allowed(make_user, settings):
    ana = make_user("ana")
    settings.CHAT_PUSH_ALLOW_LOOPBACK = True
    for endpoint in (
        "http://127.0.0.1:9/a",
        "http://localhost:9/b",
        "http://[::1]:9/c",
    ):
        assert save(ana, endpoint)[1]
    with pytest.raises(ChatError):
        save(ana, "ftp://127.0.0.1/a")


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ({"p256dh": ""}, "keys.p256dh"),
        ({"p256dh": b64url(b"\x04" + b"\x01" * 64)}, "not a P-256 public key"),
        ({"p256dh": b64url(b"\x04" * 33)}, "keys.p256dh: 65 bytes"),
        ({"p256dh": "not base64!" * 8}, "keys.p256dh"),
        ({"p256dh": 123}, "keys.p256dh"),
        ({"auth": b64url(os.urandom(15))}, "keys.auth: 16 bytes"),
        ({"auth": b64url(os.urandom(17))}, "keys.auth: 16 bytes"),
        ({"auth": "abcde"}, "keys.auth"),
        ({"auth": base64.b64encode(b"\xff" * 16).decode()}, "keys.auth"),
    ],
)
def test_keys_that_could_not_encrypt_are_refused(
    make_user, loopback_allowed, keys, problem
):
    with pytest.raises(ChatError) as refused:
        save(make_user("ana"), "http://127.0.0.1:9/a", **keys)
    assert refused.value.code == "invalid"
    assert problem in refused.value.msg


def test_padded_keys_are_stored_unpadded(make_user, loopback_allowed):
    browser = Browser.new()
    subscription, _ = save(
        make_user("ana"),
        "http://127.0.0.1:9/a",
        browser,
        p256dh=browser.p256dh + "=",
        auth=b64url(browser.auth) + "==",
    )
    assert subscription.p256dh == browser.p256dh
    assert subscription.auth == b64url(browser.auth)


def test_a_member_keeps_their_latest_devices(make_user, loopback_allowed):
    ana = make_user("ana")
    for n in range(PUSH_SUBSCRIPTIONS_MAX):
        save(ana, f"http://127.0.0.1:9/{n}")
    # The first device, seen again, counts as recent.
    save(ana, "http://127.0.0.1:9/0")
    save(ana, "http://127.0.0.1:9/new")

    endpoints = set(
        PushSubscription.objects.filter(user=ana).values_list("endpoint", flat=True)
    )
    assert len(endpoints) == PUSH_SUBSCRIPTIONS_MAX
    assert "http://127.0.0.1:9/1" not in endpoints
    assert {"http://127.0.0.1:9/0", "http://127.0.0.1:9/new"} <= endpoints


def test_an_endpoint_subscribed_by_someone_else_moves_to_them(
    make_user, loopback_allowed
):
    ana, ben = make_user("ana"), make_user("ben")
    shared = Browser.new()
    save(ana, "http://127.0.0.1:9/shared", shared)

    subscription, created = save(ben, "http://127.0.0.1:9/shared", shared)

    assert not created
    assert PushSubscription.objects.get().user == ben
    assert subscription.user == ben


def test_a_member_deletes_only_their_own_subscription(make_user, loopback_allowed):
    ana, ben = make_user("ana"), make_user("ben")
    save(ana, "http://127.0.0.1:9/ana")

    assert not push_subscription_delete(user=ben, endpoint="http://127.0.0.1:9/ana")
    assert PushSubscription.objects.filter(user=ana).exists()
    assert push_subscription_delete(user=ana, endpoint="http://127.0.0.1:9/ana")
    assert not PushSubscription.objects.exists()


def test_clearing_forgets_every_device_of_the_member(make_user, loopback_allowed):
    ana, ben = make_user("ana"), make_user("ben")
    save(ana, "http://127.0.0.1:9/a")
    save(ana, "http://127.0.0.1:9/b")
    save(ben, "http://127.0.0.1:9/c")

    assert push_subscriptions_clear(user=ana) == 2
    assert list(PushSubscription.objects.values_list("user__username", flat=True)) == [
        "ben"
    ]


# --- Over HTTP ------------------------------------------------------------------

SUBSCRIPTIONS = "/push/subscriptions"


def subscription_json(endpoint: str, browser: Browser | None = None) -> dict:
    """What the browser's PushSubscription.toJSON() gives."""
    browser = browser or Browser.new()
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": browser.p256dh, "auth": b64url(browser.auth)},
    }


@pytest.fixture
def ana_client(make_user, loopback_allowed) -> Client:
    """ana, logged in, in a browser whose requests Django checks for CSRF as it
    does a real browser's; `.csrf` is the token its page would send."""
    client = Client(enforce_csrf_checks=True, HTTP_USER_AGENT="Firefox/140.0")
    client.force_login(make_user("ana"))
    client.get("/")  # the page sets the csrftoken cookie
    client.csrf = client.cookies["csrftoken"].value
    return client


def post(client: Client, body: object, **headers: str):
    return client.post(
        SUBSCRIPTIONS,
        body if isinstance(body, bytes) else json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": getattr(client, "csrf", ""), **headers},
    )


def delete(client: Client, body: object):
    return client.delete(
        SUBSCRIPTIONS,
        json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": client.csrf},
    )


def test_the_page_subscribes_and_confirms_a_device(ana_client):
    body = subscription_json("http://127.0.0.1:9/ana")

    created = post(ana_client, body)
    confirmed = post(ana_client, body)

    assert created.status_code == 201
    assert created.json() == {"endpoint": "http://127.0.0.1:9/ana"}
    assert confirmed.status_code == 200
    subscription = PushSubscription.objects.get()
    assert subscription.user.get_username() == "ana"
    assert subscription.p256dh == body["keys"]["p256dh"]
    assert subscription.user_agent == "Firefox/140.0"


def test_a_subscription_without_the_csrf_token_is_refused(ana_client):
    response = ana_client.post(
        SUBSCRIPTIONS,
        json.dumps(subscription_json("http://127.0.0.1:9/ana")),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not PushSubscription.objects.exists()


def test_an_anonymous_visitor_cannot_subscribe(loopback_allowed):
    response = post(Client(), subscription_json("http://127.0.0.1:9/x"))
    assert response.status_code == 401
    assert response.json()["code"] == "forbidden"
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid"),
        (b"\xff\xfe", "invalid"),
        ("a string", "invalid"),
        (["a", "list"], "invalid"),
        ({"endpoint": "http://127.0.0.1:9/a"}, "invalid"),
        ({"endpoint": "http://127.0.0.1:9/a", "keys": "k"}, "invalid"),
        ({**subscription_json("https://10.1.2.3/push")}, "invalid"),
        (
            {**subscription_json("x"), "keys": {"p256dh": "abc", "auth": "abc"}},
            "invalid",
        ),
        ({**subscription_json("http://127.0.0.1:9/a"), "pad": "x" * 5000}, "too_long"),
    ],
)
def test_a_bad_subscription_is_answered_400_with_the_reason(ana_client, body, code):
    response = post(ana_client, body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["msg"]
    assert not PushSubscription.objects.exists()


def test_the_page_unsubscribes_its_device_only(ana_client, make_user):
    post(ana_client, subscription_json("http://127.0.0.1:9/ana"))
    save(make_user("ben"), "http://127.0.0.1:9/ben")

    mine = delete(ana_client, {"endpoint": "http://127.0.0.1:9/ana"})
    bens = delete(ana_client, {"endpoint": "http://127.0.0.1:9/ben"})

    assert mine.status_code == bens.status_code == 204
    owners = PushSubscription.objects.values_list("user__username", flat=True)
    assert list(owners) == ["ben"]


def test_unsubscribing_without_an_endpoint_is_400(ana_client):
    response = delete(ana_client, {})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_logging_out_forgets_that_browsers_subscription(ana_client):
    post(ana_client, subscription_json("http://127.0.0.1:9/this-browser"))
    ana = PushSubscription.objects.get().user
    save(ana, "http://127.0.0.1:9/her-phone")

    response = ana_client.post(
        "/accounts/logout/", headers={"X-CSRFToken": ana_client.csrf}
    )

    assert response.status_code == 302
    endpoints = PushSubscription.objects.values_list("endpoint", flat=True)
    assert list(endpoints) == ["http://127.0.0.1:9/her-phone"]


def test_get_is_not_allowed(ana_client):
    assert ana_client.get(SUBSCRIPTIONS).status_code == 405


# --- The service worker and the page ----------------------------------------------


def test_the_service_worker_is_served_from_the_root_for_the_whole_site(client):
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    source = response.content.decode()
    assert 'addEventListener("push"' in source
    assert 'addEventListener("notificationclick"' in source
    policy = response["Content-Security-Policy"]
    assert "worker-src 'self'" in policy


def test_the_app_page_offers_push_with_the_sites_public_key(client, make_user, keys):
    client.force_login(make_user("ana"))
    page = client.get("/").content.decode()
    assert f'data-vapid-key="{keys[1]}"' in page
    assert 'data-push-url="/push/subscriptions"' in page
    assert 'data-sw-url="/sw.js"' in page
    assert "chat/push.js" in page


def test_without_keys_the_page_offers_no_push(client, make_user, settings):
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""
    settings.DEBUG = False
    client.force_login(make_user("ana"))
    page = client.get("/").content.decode()
    assert "data-vapid-key" not in page
    assert "chat/push.js" not in page


# --- Keys -------------------------------------------------------------------------


def public_of(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def test_vapid_keys_prints_a_pair_for_the_environment(settings):
    out = StringIO()
    call_command("vapid_keys", stdout=out)
    lines = dict(line.split("=", 1) for line in out.getvalue().split())
    assert set(lines) == {"VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY"}

    settings.VAPID_PRIVATE_KEY = lines["VAPID_PRIVATE_KEY"]
    settings.VAPID_PUBLIC_KEY = lines["VAPID_PUBLIC_KEY"]
    assert vapid.application_server_key() == lines["VAPID_PUBLIC_KEY"]
    assert len(unb64url(lines["VAPID_PUBLIC_KEY"])) == 65


def test_the_public_key_is_derived_when_not_given(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    settings.VAPID_PRIVATE_KEY = b64url(
        key.private_numbers().private_value.to_bytes(32)
    )
    settings.VAPID_PUBLIC_KEY = ""
    assert vapid.application_server_key() == public_of(key)


def test_a_pem_private_key_is_taken_too(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    settings.VAPID_PUBLIC_KEY = ""
    for written in (pem, pem.replace("\n", "\\n")):  # as an env file may hold it
        settings.VAPID_PRIVATE_KEY = written
        assert vapid.application_server_key() == public_of(key)


@pytest.mark.parametrize(
    ("private", "public"),
    [
        ("", "BNT3nozNk7Qw5PO"),
        ("not-a-key", ""),
        ("generated", "the public key of another pair"),
    ],
)
def test_a_wrong_key_configuration_fails_loudly(settings, private, public):
    if private == "generated":
        private, _ = vapid.new_key_pair()
        _, public = vapid.new_key_pair()
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = private, public
    with pytest.raises(ImproperlyConfigured):
        vapid.vapid_keys()


def test_development_makes_a_key_once_and_keeps_it(settings, tmp_path):
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""
    settings.DEBUG = True
    settings.BASE_DIR = tmp_path

    first = vapid.application_server_key()
    path = tmp_path / ".vapid" / "private.pem"
    assert first and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["private.pem"]
    vapid._development_keys.cache_clear()  # as a new process would
    assert vapid.application_server_key() == first


def test_production_without_keys_has_push_off(settings, tmp_path):
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""
    settings.DEBUG = False
    settings.BASE_DIR = tmp_path
    assert vapid.vapid_keys() is None
    assert vapid.application_server_key() == ""
    assert not (tmp_path / ".vapid").exists()
