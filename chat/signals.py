"""Account changes that end a user's live sockets, or change the keys that keep
look-alike names out, wherever they come from (admin, a password form, a
management command)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from chat.domain import events, services

User = get_user_model()


@receiver(pre_save, sender=User, dispatch_uid="chat_close_sockets_on_account_change")
def close_sockets_on_account_change(sender: type, instance: Any, **kwargs: Any) -> None:
    if instance.pk is None:
        return
    before = User.objects.filter(pk=instance.pk).values("is_active", "password").first()
    if before is None:
        return
    if before["is_active"] and not instance.is_active:
        events.user_sessions_end(instance.pk, events.END_REFUSED)
    elif before["password"] != instance.password:
        # Every session of theirs ends (Django checks the password hash); the
        # sockets' sessions with them.
        events.user_sessions_end(instance.pk, events.END_LOGGED_OUT)


@receiver(post_save, sender=User, dispatch_uid="chat_store_username_keys")
def store_username_keys(
    sender: type,
    instance: Any,
    created: bool,
    update_fields: frozenset[str] | None,
    **kwargs: Any,
) -> None:
    # Every log-in saves last_login alone: no need to look at the name then.
    if update_fields is not None and User.USERNAME_FIELD not in update_fields:
        return
    services.username_keys_store(user=instance)


@receiver(user_logged_out, dispatch_uid="chat_close_sockets_on_log_out")
def close_sockets_on_log_out(
    sender: type, request: HttpRequest | None, **kwargs: Any
) -> None:
    session_key = request.session.session_key if request is not None else None
    if session_key:
        events.control_on_commit(
            [events.session_group(session_key)], "close", why=events.END_LOGGED_OUT
        )
