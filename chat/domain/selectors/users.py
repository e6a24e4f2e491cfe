"""Reads of users."""

from typing import Any

from chat.domain.confusables import username_keys
from chat.models import UsernameKey


def username_looks_taken(username: str, *, excluding: Any = None) -> bool:
    """Whether another user's name (not user `excluding`'s) looks like `username`:
    the same but for case, compatibility forms or confusable characters."""
    keys = UsernameKey.objects.filter(key__in=username_keys(username))
    if excluding is not None:
        keys = keys.exclude(user_id=excluding)
    return keys.exists()
