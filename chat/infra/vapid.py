"""The site's VAPID key pair (RFC 8292), which signs every Web Push request; its
public half is the applicationServerKey that browsers subscribe with.

From VAPID_PRIVATE_KEY (and VAPID_PUBLIC_KEY, checked against it) in the
environment. With neither set and DEBUG on, a development pair is made once into
.vapid/private.pem in the checkout (gitignored), so that a fresh clone's
`scripts/run` has working push with nothing configured. With neither set and
DEBUG off, push is off: the page offers no subscription and the job sends nothing.
"""

import base64
import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid

logger = logging.getLogger(__name__)

# Under settings.BASE_DIR.
DEV_KEY_FILE = Path(".vapid") / "private.pem"


@dataclass(frozen=True)
class VapidKeys:
    # Signs a request's JWT (py_vapid's RFC 8292 "vapid t=..., k=..." header).
    signer: Vapid
    # The public key, an uncompressed P-256 point in unpadded base64url: what a
    # browser's pushManager.subscribe() takes as applicationServerKey.
    public_key: str


def vapid_keys() -> VapidKeys | None:
    """The site's keys, or None when push is off."""
    private, public = settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY
    if private:
        return _configured_keys(private, public)
    if public:
        raise ImproperlyConfigured("VAPID_PUBLIC_KEY is set without VAPID_PRIVATE_KEY.")
    if settings.DEBUG:
        return _development_keys(Path(settings.BASE_DIR) / DEV_KEY_FILE)
    return None


def application_server_key() -> str:
    """The public key for the page, or "" when push is off."""
    keys = vapid_keys()
    return keys.public_key if keys else ""


def new_key_pair() -> tuple[str, str]:
    """A fresh (private, public) pair in the environment's format: the private
    key as its raw 32 bytes, both in unpadded base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw_private = key.private_numbers().private_value.to_bytes(32, "big")
    return _b64url(raw_private), _public_b64url(key)


@functools.cache
def _configured_keys(private: str, public: str) -> VapidKeys:
    try:
        key = _private_key_from(private)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ImproperlyConfigured(f"VAPID_PRIVATE_KEY: {error}") from None
    derived = _public_b64url(key)
    if public and public.rstrip("=") != derived:
        raise ImproperlyConfigured(
            "VAPID_PUBLIC_KEY is not the public half of VAPID_PRIVATE_KEY"
            " (leave it unset: it is derived)."
        )
    return VapidKeys(Vapid(private_key=key), derived)


@functools.cache
def _development_keys(path: Path) -> VapidKeys | None:
    try:
        if not path.exists():
            _write_new_key(path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        logger.warning("Web Push is off: no development VAPID key (%s)", error)
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        logger.warning("Web Push is off: %s is not an EC key", path)
        return None
    return VapidKeys(Vapid(private_key=key), _public_b64url(key))


def _write_new_key(path: Path) -> None:
    """A new key at `path`, atomically: of processes starting together, the first
    link wins and the others read its key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
        os.link(draft, path)
        logger.info("Made a development VAPID key for Web Push: %s", path)
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)


def _private_key_from(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM, or base64url of its raw 32 bytes or of DER
    (what py_vapid's `vapid --gen` writes)."""
    if "-----BEGIN" in text:
        # An environment file may hold the PEM on one line, with literal \n.
        key = serialization.load_pem_private_key(
            text.replace("\\n", "\n").encode(), password=None
        )
    else:
        stripped = "".join(text.split()).rstrip("=")
        try:
            raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
        except ValueError:
            raise ValueError("not base64url") from None
        if len(raw) == 32:
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
        else:
            key = serialization.load_der_private_key(raw, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
        key.curve, ec.SECP256R1
    ):
        raise ValueError("not a P-256 (prime256v1) key")
    return key


def _public_b64url(key: ec.EllipticCurvePrivateKey) -> str:
    return _b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
