"""Web Push: a notification to every browser a user subscribed, which the
service worker (static/chat/sw.js) shows even with the chat's tab closed.

Each request is encrypted for its browser (RFC 8291, aes128gcm) and signed with
the site's VAPID key (RFC 8292) by pywebpush. Its synchronous sender, over one
requests session: jobs run in a worker's thread with the (synchronous) ORM, and a
user has a few devices, mostly on one push service whose connection the session
keeps; the async sender would need an event loop per job and the ORM behind
sync_to_async to save a few round trips.
"""

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db.models import QuerySet
from py_vapid import VapidException

from chat.infra.vapid import VapidKeys, vapid_keys
from chat.models import PushSubscription

logger = logging.getLogger(__name__)

# How long a push service keeps a message for a device that is offline: a day,
# after which a notification is more noise than news.
PUSH_TTL = 24 * 60 * 60
# Seconds for each request (connect, and then each read): a slow push service
# holds one job thread at most this long per device.
PUSH_TIMEOUT = 10
TITLE_MAX = 100
BODY_MAX = 200
URGENCIES = ("very-low", "low", "normal", "high")
# The push service no longer knows the subscription (unsubscribed, expired).
GONE = (404, 410)


class PushRetry(Exception):
    """Some devices could not be reached for now (429, 5xx, the network): those
    (`subscription_ids`) are to be tried again later, each on its own, so that
    the `delivered` ones do not get it twice."""

    def __init__(self, subscription_ids: list[int], delivered: int) -> None:
        super().__init__(f"{len(subscription_ids)} push services failed for now")
        self.subscription_ids = subscription_ids
        self.delivered = delivered


def push_send(user_id: int, payload: dict[str, Any], *, urgency: str = "high") -> int:
    """Push `payload` ({title, body, url, tag, room, messageId}) to every device of
    the user; how many push services took it. A subscription the push service
    has forgotten (404, 410) is deleted. Raises PushRetry when some failed for a
    while (after trying all of them); nothing is sent when push is off."""
    subscriptions = PushSubscription.objects.filter(user_id=user_id)
    return _push_to(subscriptions, payload, urgency)


def push_send_again(
    subscription_id: int, payload: dict[str, Any], *, urgency: str = "high"
) -> int:
    """Push to one device that push_send could not reach for now (its PushRetry):
    1 when its push service took it, 0 when it is gone or refused; PushRetry
    again while it fails."""
    subscriptions = PushSubscription.objects.filter(pk=subscription_id)
    return _push_to(subscriptions, payload, urgency)


def _push_to(
    subscriptions: QuerySet[PushSubscription], payload: dict[str, Any], urgency: str
) -> int:
    if urgency not in URGENCIES:
        raise ValueError(f"urgency: one of {URGENCIES}")
    keys = vapid_keys()
    if keys is None:
        return 0
    subscriptions = list(subscriptions)
    if not subscriptions:
        return 0
    data = json.dumps(_shortened(payload), ensure_ascii=False)
    outcomes = {}
    with requests.Session() as session:
        # A push service answers, it does not redirect: refusing redirects keeps
        # an endpoint from sending the server's POSTs anywhere else.
        session.max_redirects = 0
        for subscription in subscriptions:
            outcomes[subscription.pk] = _push_one(
                session, keys, subscription, data, urgency
            )
    delivered = list(outcomes.values()).count("delivered")
    if retry := [pk for pk, outcome in outcomes.items() if outcome == "retry"]:
        raise PushRetry(retry, delivered)
    return delivered


def _push_one(
    session: requests.Session,
    keys: VapidKeys,
    subscription: PushSubscription,
    data: str,
    urgency: str,
) -> str:
    """The outcome: delivered, gone (deleted), retry, or failed (for good)."""
    # Here, not at the top: pywebpush brings aiohttp (0.2 s), and every process
    # loading the app (each manage.py command) would pay for it.
    from pywebpush import WebPushException, webpush

    host = urlsplit(subscription.endpoint).netloc
    try:
        webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=data,
            vapid_private_key=keys.signer,
            # A new dict each time: webpush() writes this endpoint's origin into
            # it as "aud", and an expiry.
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            content_encoding="aes128gcm",
            ttl=PUSH_TTL,
            timeout=PUSH_TIMEOUT,
            headers={"Urgency": urgency},
            requests_session=session,
        )
    except WebPushException as error:
        return _failed(subscription, host, error.status_code)
    except requests.TooManyRedirects:
        logger.warning("push to %s: redirected; not followed", host)
        return "failed"
    except requests.RequestException as error:
        logger.warning("push to %s: %s", host, error.__class__.__name__)
        return "retry"
    except VapidException as error:
        # VAPID_SUBJECT is not a mailto: or https: URL, or the endpoint's origin
        # cannot be an audience: retrying would not help.
        logger.error("push to %s: cannot sign: %s", host, error)
        return "failed"
    return "delivered"


def _failed(subscription: PushSubscription, host: str, status: int | None) -> str:
    if status in GONE:
        PushSubscription.objects.filter(
            pk=subscription.pk, endpoint=subscription.endpoint
        ).delete()
        logger.info("push to %s: subscription gone (%s), deleted", host, status)
        return "gone"
    if status is not None and (status == 429 or status >= 500):
        logger.warning("push to %s: %s, to be retried", host, status)
        return "retry"
    # 400, 401/403 (a VAPID key other than the one it subscribed with: its page
    # subscribes again at its next load), 413: not better on a second try.
    logger.warning("push to %s: refused (%s)", host, status)
    return "failed"


def _shortened(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with its title and body cut to what a notification shows (a
    push message has at most about 4 kB)."""
    shortened = dict(payload)
    for key, limit in (("title", TITLE_MAX), ("body", BODY_MAX)):
        text = str(shortened.get(key) or "")
        shortened[key] = text if len(text) <= limit else text[: limit - 1] + "…"
    return shortened
