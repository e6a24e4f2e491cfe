"""Staff moderation. Every change that matters to live sockets goes through
chat.domain.services / chat.domain.services.moderation, so it takes effect at once on
every worker and is recorded in the moderation log."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from chat.domain import services
from chat.domain.errors import ChatError
from chat.domain.services import moderation
from chat.models import (
    EmailNotice,
    Membership,
    Message,
    ModerationAction,
    Mute,
    PushSubscription,
    Reaction,
    Room,
    RoomBan,
    SiteBan,
)
from chat.web.forms import AdminAddUserForm, AdminUserForm


def admin_link(obj: object, label: str | None = None) -> str:
    """A link to `obj`'s admin page; the label is escaped by format_html."""
    if obj is None:
        return "-"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class ChatUserAdmin(UserAdmin):
    """Django's user admin, refusing look-alike names as sign-up does."""

    add_form = AdminAddUserForm
    form = AdminUserForm


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user", "last_read")


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "topic", "created_by", "created_at", "last_seq")
    list_filter = ("kind", "created_at")
    search_fields = ("name", "topic")
    readonly_fields = ("last_seq", "created_at")
    raw_id_fields = ("created_by",)
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("room", "user", "role", "notify", "muted", "joined_at")
    list_filter = ("role", "room__kind", "notify", "muted")
    search_fields = ("room__name", "user__username")
    raw_id_fields = ("room", "user", "last_read")


class ReactionInline(admin.TabularInline):
    """Who reacted with what: read-only (a change here would reach no socket)."""

    model = Reaction
    fields = ("emoji", "user", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "room_link",
        "author_link",
        "short_body",
        "reply_count",
        "created_at",
        "deleted_at",
    )
    list_filter = (
        "room__kind",
        "created_at",
        ("deleted_at", admin.EmptyFieldListFilter),
        ("thread", admin.EmptyFieldListFilter),
        "room",
    )
    search_fields = ("body", "author__username", "room__name")
    date_hierarchy = "created_at"
    raw_id_fields = ("room", "author", "deleted_by")
    readonly_fields = (
        "seq",
        "changed_seq",
        "client_id",
        "created_at",
        "deleted_at",
        "deleted_by",
        "thread",
        "also_to_room",
        "reply_count",
        "last_reply_at",
        "repliers",
    )
    actions = ["soft_delete"]
    inlines = [ReactionInline]

    @admin.display(description="room", ordering="room__name")
    def room_link(self, message: Message) -> str:
        return admin_link(message.room)

    @admin.display(description="author", ordering="author__username")
    def author_link(self, message: Message) -> str:
        return admin_link(message.author)

    @admin.display(description="message")
    def short_body(self, message: Message) -> str:
        return message.body[:80]

    @admin.action(description="Delete selected messages (kept for audit, removed live)")
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        # Through the service, so every open socket sees message_deleted at once.
        pending = list(
            queryset.filter(deleted_at__isnull=True).values_list("pk", flat=True)
        )
        for message_id in pending:
            services.message_delete(user=request.user, message_id=message_id)
        self.message_user(
            request, f"Deleted {len(pending)} message(s).", messages.SUCCESS
        )

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # hard deletes would erase the audit trail: use the action


class _DryRun(Exception):
    pass


class ThroughModeration(admin.ModelAdmin):
    """Saves and deletions call chat.domain.services.moderation instead of
    writing the row, so the effect reaches live sockets and the moderation log.

    The form runs the same call first in a transaction that is rolled back (nothing
    written, nothing sent), so a refusal shows as a form error, not a half-success.
    """

    raw_id_fields = ("user",)
    readonly_fields = ("created_by", "created_at")
    search_fields = ("user__username", "reason")

    def moderate(self, request: HttpRequest, data: dict) -> object:
        """Apply the row's fields (`data`) through
        chat.domain.services.moderation; return the row."""
        raise NotImplementedError

    def lift(self, request: HttpRequest, obj: object) -> None:
        """Undo the row through chat.domain.services.moderation."""
        raise NotImplementedError

    def get_form(self, request: HttpRequest, obj: object = None, **kwargs: object):
        form_class = super().get_form(request, obj, **kwargs)
        model_admin = self

        class CheckedByModeration(form_class):
            def clean(self) -> dict:
                data = super().clean()
                if not self.errors:
                    try:
                        with transaction.atomic():
                            model_admin.moderate(request, {**self.initial, **data})
                            raise _DryRun
                    except _DryRun:
                        pass
                    except ChatError as error:
                        raise forms.ValidationError(error.msg) from None
                return data

        return CheckedByModeration

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = self.moderate(request, form.cleaned_data).pk

    def delete_model(self, request, obj) -> None:
        try:
            self.lift(request, obj)
        except ChatError as error:
            self.message_user(request, error.msg, messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(RoomBan)
class RoomBanAdmin(ThroughModeration):
    list_display = ("user", "room", "reason", "expires_at", "created_by", "created_at")
    list_filter = ("room", "created_at")
    raw_id_fields = ("user", "room")

    def moderate(self, request, data) -> RoomBan:
        return moderation.room_ban(
            actor=request.user,
            room_name=data["room"].name,
            username=data["user"].get_username(),
            reason=data.get("reason", ""),
            expires_at=data.get("expires_at"),
        )

    def lift(self, request, obj) -> None:
        moderation.room_unban(
            actor=request.user,
            room_name=obj.room.name,
            username=obj.user.get_username(),
        )


@admin.register(Mute)
class MuteAdmin(ThroughModeration):
    list_display = ("user", "room", "reason", "expires_at", "created_by", "created_at")
    list_filter = ("room", "created_at")
    raw_id_fields = ("user", "room")

    def moderate(self, request, data) -> Mute:
        return moderation.room_mute(
            actor=request.user,
            room_name=data["room"].name,
            username=data["user"].get_username(),
            until=data["expires_at"],
            reason=data.get("reason", ""),
        )

    def lift(self, request, obj) -> None:
        moderation.room_unmute(
            actor=request.user,
            room_name=obj.room.name,
            username=obj.user.get_username(),
        )


@admin.register(SiteBan)
class SiteBanAdmin(ThroughModeration):
    list_display = ("user", "reason", "expires_at", "created_by", "created_at")
    list_filter = ("created_at",)

    def moderate(self, request, data) -> SiteBan:
        return moderation.site_ban(
            actor=request.user,
            username=data["user"].get_username(),
            reason=data.get("reason", ""),
            expires_at=data.get("expires_at"),
        )

    def lift(self, request, obj) -> None:
        moderation.site_unban(actor=request.user, username=obj.user.get_username())


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The audit log: read only."""

    list_display = (
        "created_at",
        "actor",
        "kind",
        "target_link",
        "room_link",
        "message_link",
        "reason",
        "expires_at",
    )
    list_filter = ("kind", "created_at", "room")
    search_fields = ("actor__username", "target__username", "room__name", "reason")
    date_hierarchy = "created_at"

    @admin.display(description="target", ordering="target__username")
    def target_link(self, action: ModerationAction) -> str:
        return admin_link(action.target)

    @admin.display(description="room", ordering="room__name")
    def room_link(self, action: ModerationAction) -> str:
        return admin_link(action.room)

    @admin.display(description="message")
    def message_link(self, action: ModerationAction) -> str:
        return (
            admin_link(action.message, f"#{action.message_id}")
            if action.message_id
            else "-"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown to staff for support, changed only by their owners (a change here
    would reach no socket)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ReadOnlyAdmin):
    """Devices that get Web Push; deleting one stops pushes to it."""

    list_display = ("user", "user_agent", "created_at")
    search_fields = ("user__username",)


@admin.register(EmailNotice)
class EmailNoticeAdmin(ReadOnlyAdmin):
    """Direct messages and mentions waiting to be emailed if still unread."""

    list_display = ("user", "message", "reason", "due_at")
    list_filter = ("reason",)
    search_fields = ("user__username",)
