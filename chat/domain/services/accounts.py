"""Accounts: sign-up, and the keys that keep look-alike names out."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chat.domain.confusables import username_keys
from chat.domain.errors import ChatError
from chat.domain.selectors import username_looks_taken
from chat.domain.services.rooms import default_rooms_join
from chat.models import (
    UsernameKey,
)

User = AbstractBaseUser

LOOKALIKE_NAME = "this name looks too much like an existing one; choose another"


@transaction.atomic
def user_signup(*, username: str, password: str) -> User:
    """Create an account, unless its name looks like one already taken, in the
    site's default rooms."""
    if username_looks_taken(username):
        raise ChatError("invalid", LOOKALIKE_NAME)
    user = get_user_model().objects.create_user(username=username, password=password)
    # A look-alike that signed up in the same moment holds a key: this one fails.
    if not username_keys_store(user=user):
        raise ChatError("invalid", LOOKALIKE_NAME)
    default_rooms_join(user=user)
    return user


def username_keys_store(*, user: User) -> bool:
    """Record the keys of the user's current name (after any save that may have
    changed it); False if another user already holds one of them, which only a
    path without the look-alike check (admin, a command) or a race can cause."""
    keys = username_keys(user.get_username())
    held = set(UsernameKey.objects.filter(user=user).values_list("key", flat=True))
    if held == keys:
        return True
    UsernameKey.objects.filter(user=user).exclude(key__in=keys).delete()
    UsernameKey.objects.bulk_create(
        [UsernameKey(user=user, key=key) for key in keys - held], ignore_conflicts=True
    )
    return UsernameKey.objects.filter(user=user).count() == len(keys)
