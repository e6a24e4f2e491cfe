"""One-click email unsubscribe (RFC 8058): a signed token of the user's id in a
link that works without logging in, and the headers a notification email
carries so that mail clients offer their own "Unsubscribe" button.

Here rather than in chat.web because the email job (chat.jobs) builds the links
and may not import the pages; chat.web only has the views that take them.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse

from chat.domain.errors import ChatError

# Tokens signed for this purpose only: another signed value of the site (a
# session, a password reset) is no unsubscribe token, and the reverse.
SALT = "chat.unsubscribe"
# What RFC 8058 has a mail client POST to the link.
ONE_CLICK = "List-Unsubscribe=One-Click"


def unsubscribe_token(user: Any) -> str:
    """The user's id, signed (with when it was signed, for a later expiry)."""
    return signing.dumps(user.pk, salt=SALT)


def user_for_token(token: str) -> Any:
    """The active user the token was made for, or not_found: an altered, foreign
    or unknown token, or a deactivated account, all answer the same."""
    try:
        user_id = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise invalid_link() from None
    if not isinstance(user_id, int):
        raise invalid_link()
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise invalid_link()
    return user


def invalid_link() -> ChatError:
    return ChatError("not_found", "this unsubscribe link is not valid")


def unsubscribe_url(user: Any) -> str:
    """The user's unsubscribe link, absolute (on CHAT_SITE_URL): for emails."""
    path = reverse("chat:unsubscribe", args=[unsubscribe_token(user)])
    return settings.CHAT_SITE_URL.rstrip("/") + path


def unsubscribe_headers(user: Any) -> dict[str, str]:
    """The headers of a notification email to `user` (RFC 2369 and 8058): mail
    clients then POST "List-Unsubscribe=One-Click" to the link themselves."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(user)}>",
        "List-Unsubscribe-Post": ONE_CLICK,
    }
