"""Web Push in the browser: the page subscribes when notifications are allowed
and unsubscribes when they no longer are or at log-out; the service worker shows
a push while no chat tab is in front, and a click opens the message in the chat.

Headless Chromium has no push service (a Playwright context is like incognito,
where Chrome's Push API refuses to subscribe), so the browser's PushManager is
replaced by a stand-in that hands out a subscription as a real one would: the
page's code around it, the HTTP endpoints and the database are the real ones.
Pushes are delivered to the service worker through the DevTools protocol
(ServiceWorker.deliverPushMessage), as the push service would deliver them; the
encryption on the way is tests/test_push.py's.
"""

import base64
import json
import os
import re
import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import BrowserContext, Error, Page, Worker, expect

from .conftest import Actor

# A subscription the stand-in PushManager hands out (kept in localStorage, as a
# browser keeps its subscription across page loads).
FAKE_PUSH_MANAGER = """
(() => {
  const stored = () => JSON.parse(localStorage.getItem("fake-push") || "null");
  const wrap = (state) => state && {
    endpoint: state.endpoint,
    options: {
      userVisibleOnly: true,
      applicationServerKey: new Uint8Array(state.key).buffer,
    },
    toJSON: () => ({ ...SUBSCRIPTION, expirationTime: null }),
    unsubscribe: async () => {
      localStorage.removeItem("fake-push");
      return true;
    },
  };
  PushManager.prototype.getSubscription = async function () {
    return wrap(stored());
  };
  PushManager.prototype.subscribe = async function (options) {
    const key = Array.from(new Uint8Array(options.applicationServerKey));
    const state = { ...SUBSCRIPTION, key };
    localStorage.setItem("fake-push", JSON.stringify(state));
    return wrap(state);
  };
})();
"""
NOTIFICATIONS = """self.registration.getNotifications().then((shown) => shown.map(
  (n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })))"""


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def fake_push_manager(context: BrowserContext, endpoint: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    subscription = {
        "endpoint": endpoint,
        "keys": {"p256dh": b64url(point), "auth": b64url(os.urandom(16))},
    }
    context.add_init_script(
        f"const SUBSCRIPTION = {json.dumps(subscription)};\n{FAKE_PUSH_MANAGER}"
    )


def subscriptions_of(backend: Any, username: str) -> list[str]:
    return backend.run(
        "from chat.models import PushSubscription\n"
        "result = list(PushSubscription.objects.filter("
        "user__username=data['username']).values_list('endpoint', flat=True))",
        username=username,
    )


def allow_notifications(actor: Actor) -> None:
    actor.context.grant_permissions(["notifications"], origin=actor.base_url)


def reload_expecting(
    page: Page, method: str, status: int, path: str | None = None
) -> None:
    """Reload (or go to the URL `path`); the page's push.js sends `method`
    /push/subscriptions, answered `status`."""
    with page.expect_response(
        lambda r: r.url.endswith("/push/subscriptions") and r.request.method == method
    ) as response:
        if path is None:
            page.reload()
        else:
            page.goto(path)
    assert response.value.status == status


def test_the_page_subscribes_when_allowed_and_unsubscribes_when_not(open_as, backend):
    (a,) = backend.users("ana")
    ana = open_as(a, "/")
    endpoint = f"http://127.0.0.1:9/e2e-{a}"
    fake_push_manager(ana.context, endpoint)

    allow_notifications(ana)
    reload_expecting(ana.page, "POST", 201)
    assert subscriptions_of(backend, a) == [endpoint]
    scope = ana.page.evaluate(
        "navigator.serviceWorker.getRegistration('/').then((r) => r && r.scope)"
    )
    assert scope == ana.base_url + "/"
    # Every load confirms it.
    reload_expecting(ana.page, "POST", 200)

    # Revoked while no chat page is open (an open one reacts at once, where the
    # browser reports the change).
    ana.page.goto("about:blank")
    ana.context.clear_permissions()
    reload_expecting(ana.page, "DELETE", 204, path=ana.base_url + "/")
    assert subscriptions_of(backend, a) == []


def test_logging_out_unsubscribes_the_browser(open_as, backend):
    (a,) = backend.users("ana")
    ana = open_as(a, "/")
    fake_push_manager(ana.context, f"http://127.0.0.1:9/e2e-{a}")
    allow_notifications(ana)
    reload_expecting(ana.page, "POST", 201)

    with ana.page.expect_request(
        lambda r: r.url.endswith("/push/subscriptions") and r.method == "DELETE"
    ):
        ana.page.locator("#logout-form button").click()
    expect(ana.page).to_have_url(re.compile(r"/accounts/login/"))
    assert subscriptions_of(backend, a) == []
    assert ana.page.evaluate("localStorage.getItem('fake-push')") is None


def service_worker(actor: Actor) -> Worker:
    """The site's service worker, registered by the page once it may notify."""
    allow_notifications(actor)
    if not actor.context.service_workers:
        with actor.context.expect_event("serviceworker"):
            actor.page.reload()
    return actor.context.service_workers[0]


class PushService:
    """Delivers push messages to the page's service worker, as the browser's
    push service would (through the DevTools protocol of a page of the site).

    DevTools reports registrations by update events, the same one again as it
    changes (late in a full run a list of the events held the scope's twice),
    deleted ones included. A push goes to each registration of the scope not
    deleted, as last reported; one that refuses it (a closed context's) is
    passed over."""

    def __init__(self, page: Page, origin: str) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.registrations: dict[str, dict] = {}  # by id, as last reported
        self.cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: self.registrations.update(
                (r["registrationId"], r) for r in event["registrations"]
            ),
        )
        self.cdp.send("ServiceWorker.enable")
        self.origin = origin
        deadline = time.monotonic() + 5
        while not self.live():
            assert time.monotonic() < deadline, "no service worker registered"
            page.wait_for_timeout(50)  # lets the events in

    def live(self) -> list[str]:
        scope = self.origin + "/"
        return [
            registration_id
            for registration_id, r in self.registrations.items()
            if r["scopeURL"] == scope and not r["isDeleted"]
        ]

    def push(self, payload: dict) -> None:
        delivered = 0
        for registration_id in self.live():
            try:
                self.cdp.send(
                    "ServiceWorker.deliverPushMessage",
                    {
                        "origin": self.origin,
                        "registrationId": registration_id,
                        "data": json.dumps(payload),
                    },
                )
                delivered += 1
            except Error:  # a closed context's registration
                pass
        assert delivered, "no service worker took the push"


def shown(worker: Worker) -> list[dict]:
    """The notifications the worker shows, once it shows any (or after 5 s)."""
    deadline = time.monotonic() + 5
    while not (notifications := worker.evaluate(NOTIFICATIONS)):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return notifications


def no_chat_window(worker: Worker) -> None:
    """Wait until the worker no longer counts a window of the site (Chromium
    drops a page that navigated away from its clients a moment later)."""
    windows = "self.clients.matchAll({type: 'window', includeUncontrolled: true})"
    deadline = time.monotonic() + 5
    while worker.evaluate(f"{windows}.then((w) => w.length)"):
        assert time.monotonic() < deadline, "the chat's window is still a client"
        time.sleep(0.05)


def test_a_push_is_shown_only_while_no_chat_tab_is_in_front(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(b, backend.unique("lunch"), members=(a,))
    ana = open_as(a, "/")
    worker = service_worker(ana)
    service = PushService(ana.page, ana.base_url)
    payload = {
        "title": f"{b} in #{room}",
        "body": f"@{a} lunch?",
        "url": f"/rooms/{room}/",
        "tag": f"room-{room}",
        "room": room,
        "messageId": 7,
    }

    service.push({**payload, "tag": "in-front"})
    ana.page.wait_for_timeout(500)
    assert worker.evaluate(NOTIFICATIONS) == []

    ana.page.goto("about:blank")  # the chat's tab closed
    no_chat_window(worker)
    service.push(payload)
    assert shown(worker) == [
        {
            "title": payload["title"],
            "body": payload["body"],
            "tag": payload["tag"],
            "data": {
                "url": f"{ana.base_url}/rooms/{room}/",
                "room": room,
                "messageId": 7,
            },
        }
    ]


def test_a_notification_clicked_opens_the_message_in_the_chat(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(b, backend.unique("lunch"), members=(a,))
    ana = open_as(a, "/")
    worker = service_worker(ana)
    clicked = {"url": f"/rooms/{room}/", "room": room, "messageId": 7}
    # What the page's navigation does with it: here, only note it.
    ana.page.evaluate(
        """window.addEventListener("chat:open-message", (event) => {
             window.openedMessage = event.detail;
             event.preventDefault();
           })"""
    )

    # What the worker's notificationclick does (headless Chromium shows no
    # notification to click).
    worker.evaluate("(data) => openMessage(data)", clicked)

    ana.page.wait_for_function("window.openedMessage !== undefined")
    assert ana.page.evaluate("window.openedMessage") == {
        **clicked,
        "url": f"{ana.base_url}/rooms/{room}/",
    }
    # Nothing in the page took it: the page goes to the message's address.
    ana.page.reload()
    worker.evaluate("(data) => openMessage(data)", clicked)
    expect(ana.page).to_have_url(f"{ana.base_url}/rooms/{room}/")
    expect(ana.page.locator("#room-title")).to_contain_text(room)


def test_a_click_never_opens_another_site(open_as, backend):
    (a,) = backend.users("ana")
    ana = open_as(a, "/")
    worker = service_worker(ana)
    ana.page.evaluate(
        """window.addEventListener("chat:open-message", (event) => {
             window.openedMessage = event.detail;
             event.preventDefault();
           })"""
    )
    worker.evaluate("(data) => openMessage(data)", {"url": "https://evil.example/"})
    ana.page.wait_for_function("window.openedMessage !== undefined")
    assert ana.page.evaluate("window.openedMessage.url") == ana.base_url + "/"
