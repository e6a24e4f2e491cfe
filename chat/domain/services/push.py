"""Web Push subscriptions: the browsers (devices) of a user that the push job
(chat.jobs.push) may wake when the chat is not open in them."""

import base64
import binascii
import ipaddress
import re
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat.domain.errors import ChatError
from chat.models import PushSubscription

User = AbstractBaseUser

# Devices a user may have subscribed at once; a new one drops the one confirmed
# longest ago (every page load of a subscribed browser confirms its own).
PUSH_SUBSCRIPTIONS_MAX = 10
ENDPOINT_MAX_LENGTH = PushSubscription._meta.get_field("endpoint").max_length
USER_AGENT_MAX_LENGTH = PushSubscription._meta.get_field("user_agent").max_length
# What PushSubscription.toJSON() gives: an uncompressed P-256 point, 16 random bytes.
P256DH_BYTES = 65
AUTH_BYTES = 16
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def push_subscription_save(
    *,
    user: User,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str = "",
) -> tuple[PushSubscription, bool]:
    """Store (or confirm) one browser's subscription for `user`; (it, created).

    An endpoint is one browser profile: subscribed again by another user (a
    shared computer, someone else logged in), it moves to them. Past
    PUSH_SUBSCRIPTIONS_MAX, the user's least recently confirmed ones go."""
    endpoint = _valid_endpoint(endpoint)
    fields = {
        "user": user,
        "p256dh": _base64url_key(p256dh, "p256dh", P256DH_BYTES),
        "auth": _base64url_key(auth, "auth", AUTH_BYTES),
        "user_agent": str(user_agent)[:USER_AGENT_MAX_LENGTH],
        # The age that "least recently confirmed" goes by.
        "created_at": timezone.now(),
    }
    with transaction.atomic():
        subscription, created = PushSubscription.objects.update_or_create(
            endpoint=endpoint, defaults=fields
        )
        _drop_beyond_limit(user)
    return subscription, created


def push_subscription_delete(*, user: User, endpoint: str) -> bool:
    """Forget the user's subscription at `endpoint` (unsubscribed, logged out):
    whether there was one. Another user's is never touched."""
    if not isinstance(endpoint, str) or not endpoint:
        raise ChatError("invalid", "endpoint: a subscription's URL")
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted > 0


def push_subscriptions_clear(*, user: User) -> int:
    """Forget every device of the user (e.g. when their sessions all end with a
    password change): browsers still logged in subscribe again at their next
    page load. How many there were."""
    return PushSubscription.objects.filter(user=user).delete()[0]


def _drop_beyond_limit(user: User) -> None:
    kept = (
        PushSubscription.objects.filter(user=user)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[:PUSH_SUBSCRIPTIONS_MAX]
    )
    PushSubscription.objects.filter(user=user).exclude(pk__in=list(kept)).delete()


def _valid_endpoint(endpoint: object) -> str:
    """A push service's URL: https on the default port to a public name or
    address, since the push job POSTs to whatever is stored here (and a member
    must not aim it at the server's own network). Loopback, over http too, only
    where CHAT_PUSH_ALLOW_LOOPBACK is on (development, and the tests' own push
    service)."""
    if not isinstance(endpoint, str) or not endpoint:
        raise ChatError("invalid", "endpoint: a push service's https URL")
    if len(endpoint) > ENDPOINT_MAX_LENGTH:
        raise ChatError("too_long", f"endpoint: at most {ENDPOINT_MAX_LENGTH} chars")
    try:
        url = urlsplit(endpoint)
        host, port = url.hostname or "", url.port
    except ValueError:
        raise ChatError("invalid", "endpoint: not a URL") from None
    if url.username is not None or url.password is not None or not host:
        raise ChatError("invalid", "endpoint: not a push service's URL")
    if host in LOOPBACK_HOSTS and settings.CHAT_PUSH_ALLOW_LOOPBACK:
        if url.scheme not in ("http", "https"):
            raise ChatError("invalid", "endpoint: an http or https URL")
        return endpoint
    if url.scheme != "https" or port not in (None, 443):
        raise ChatError("invalid", "endpoint: an https URL on the default port")
    if not _public_host(host):
        raise ChatError("invalid", "endpoint: not a public host")
    return endpoint


def _public_host(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # A name: a dotted one outside the names that stay on a machine or a LAN.
        # (One that resolves to a private address is not caught here.)
        name = host.rstrip(".").lower()
        return "." in name and not name.endswith((".localhost", ".local", ".internal"))
    return address.is_global


def _base64url_key(value: object, name: str, length: int) -> str:
    """`value` as unpadded base64url, checked to decode to a key of `length`
    bytes (and, for a public key, to a point on P-256: a key that cannot encrypt
    would fail every push instead)."""
    raw = _base64url_bytes(value, max_chars=2 * length)
    if raw is None or len(raw) != length:
        raise ChatError("invalid", f"keys.{name}: {length} bytes in base64url")
    if length == P256DH_BYTES:
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            raise ChatError("invalid", f"keys.{name}: not a P-256 public key") from None
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _base64url_bytes(value: object, *, max_chars: int) -> bytes | None:
    if not isinstance(value, str) or len(value) > max_chars:
        return None
    if not BASE64URL.fullmatch(value):
        return None
    text = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:  # a length no encoding gives
        return None
