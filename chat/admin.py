from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import Membership, Message, Room


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user", "last_read")


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "topic", "created_by", "created_at", "last_seq")
    list_filter = ("kind",)
    search_fields = ("name", "topic")
    readonly_fields = ("last_seq", "created_at")
    raw_id_fields = ("created_by",)
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("room", "user", "role", "joined_at")
    list_filter = ("role", "room__kind")
    search_fields = ("room__name", "user__username")
    raw_id_fields = ("room", "user", "last_read")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "room", "author", "short_body", "created_at", "deleted_at")
    list_filter = ("room__kind", "created_at")
    search_fields = ("body", "author__username", "room__name")
    raw_id_fields = ("room", "author", "deleted_by")
    readonly_fields = ("seq", "changed_seq", "client_id", "created_at")
    actions = ["soft_delete"]

    @admin.display(description="message")
    def short_body(self, message: Message) -> str:
        return message.body[:80]

    @admin.action(description="Delete selected messages (kept for audit, removed live)")
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        # Through the service, so every open socket sees message_deleted at once.
        pending = queryset.filter(deleted_at__isnull=True)
        for message_id in pending.values_list("pk", flat=True):
            services.message_delete(user=request.user, message_id=message_id)
        self.message_user(
            request, f"Deleted {len(pending)} message(s).", messages.SUCCESS
        )
