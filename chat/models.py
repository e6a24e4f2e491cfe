"""Rooms, memberships and messages. Users are Django's auth users."""

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

DIRECT_PREFIX = "dm:"
GROUP_PREFIX = "group:"


def user_remembered() -> models.ForeignKey:
    """Who did something to an entry (deleted, pinned or edited it), kept as
    NULL once that account is deleted."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )


class Room(models.Model):
    class Kind(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"
        DIRECT = "direct", "Direct"
        GROUP = "group", "Group"

    # Public and private names follow chat.domain.rules.ROOM_NAME_RE; a direct room
    # is named "dm:<lower user id>:<higher user id>" and a group conversation
    # "group:<40 hex digits>" (group_name), which no user-chosen name can be.
    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PUBLIC)
    topic = models.CharField(max_length=250, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_rooms",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Advanced by every change in the room (a message, an edit, a deletion), under
    # this row's lock, so a client can ask for "every change after seq N".
    last_seq = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        indexes = [
            # The room quota: WHERE created_by = ? AND created_at > ?
            models.Index(fields=["created_by", "created_at"], name="room_creator"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_direct(self) -> bool:
        return self.kind == self.Kind.DIRECT

    @property
    def is_group(self) -> bool:
        return self.kind == self.Kind.GROUP

    @property
    def is_conversation(self) -> bool:
        """A direct or group conversation: its members are fixed by who it is
        between, it has no owner, and its changes go to each member's sockets."""
        return self.kind in (self.Kind.DIRECT, self.Kind.GROUP)

    @staticmethod
    def group_name(user_ids: Iterable[int]) -> str:
        """The name of the group conversation of exactly these users, whatever
        their order: the same set always finds the same room."""
        ids = ",".join(str(i) for i in sorted(set(user_ids)))
        return GROUP_PREFIX + hashlib.sha256(ids.encode()).hexdigest()[:40]

    @staticmethod
    def direct_name(user_id: int, other_id: int) -> str:
        low, high = sorted((user_id, other_id))
        return f"{DIRECT_PREFIX}{low}:{high}"

    @property
    def direct_user_ids(self) -> tuple[int, int]:
        """The two members' ids of a direct room, read from its name."""
        low, high = self.name.removeprefix(DIRECT_PREFIX).split(":")
        return int(low), int(high)


class Notify(models.TextChoices):
    """What of a room notifies a member (a desktop notification, a push, an email)."""

    DEFAULT = "default", "Default"
    ALL = "all", "All messages"
    MENTIONS = "mentions", "Mentions only"
    NOTHING = "nothing", "Nothing"


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        MODERATOR = "moderator", "Moderator"
        OWNER = "owner", "Owner"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    # The newest message this member has read; unread = newer messages by others.
    last_read = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What of this room notifies them (chat.domain.notify): DEFAULT is ALL in a
    # direct or group conversation and MENTIONS in a room.
    notify = models.CharField(
        max_length=8, choices=Notify.choices, default=Notify.DEFAULT
    )
    # Muted: the room is neither bold nor badged for its unread messages, only
    # for its mentions, and notifies of nothing but mentions.
    muted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="membership_unique")
        ]
        indexes = [models.Index(fields=["user", "room"], name="membership_user_room")]

    def __str__(self) -> str:
        return f"{self.user} in {self.room} ({self.role})"

    @property
    def can_moderate(self) -> bool:
        return self.role in (self.Role.MODERATOR, self.Role.OWNER)


class MessageQuerySet(models.QuerySet):
    def shown_in_room(self) -> "MessageQuerySet":
        """What the room itself shows: top-level messages and replies sent also to
        the room (the rest live in their threads)."""
        return self.filter(Q(thread__isnull=True) | Q(also_to_room=True))


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages"
    )
    body = models.TextField()
    # `body` rendered (chat.domain.richtext) when it was written: sanitized HTML,
    # sent beside the text. "" for rows written before rendering existed, which
    # are rendered when read (chat.domain.payloads).
    html = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The sender's own id for this message: a retry with the same one is not stored
    # twice. NULL (not "") when absent, so the per-author unique constraint skips it.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # The room seq at which the message was created, and at its latest change.
    seq = models.BigIntegerField()
    changed_seq = models.BigIntegerField()
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = user_remembered()
    # Pinned to its room's header (chat.domain.services.pins) since then, by them.
    pinned_at = models.DateTimeField(null=True, blank=True)
    pinned_by = user_remembered()
    # A reply: the top-level message of its room that starts its thread. Shown in
    # the room itself only when sent `also_to_room`.
    thread = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    also_to_room = models.BooleanField(default=False)
    # A root's summary, kept when a reply is sent or deleted
    # (chat.domain.services.threads): its replies not deleted, the latest one,
    # and the latest few distinct repliers' usernames.
    reply_count = models.PositiveIntegerField(default=0)
    last_reply_at = models.DateTimeField(null=True, blank=True)
    last_reply_id = models.BigIntegerField(null=True, blank=True)
    repliers = models.JSONField(default=list, blank=True)
    # Who it mentions (chat.domain.mentions): the usernames of members named with
    # @username, and "@room" or "@here" when it used one; [] for most messages.
    mentions = models.JSONField(default=list, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_author_client_id_unique",
            ),
        ]
        indexes = [
            # History pages and unread counts: WHERE room = ? AND id < / > ?
            models.Index(fields=["room", "id"], name="message_room_id"),
            # Resync after a reconnect: WHERE room = ? AND changed_seq > ?
            models.Index(fields=["room", "changed_seq"], name="message_room_changed"),
            # A room's pins: WHERE room = ? AND pinned_at IS NOT NULL
            models.Index(
                fields=["room", "pinned_at"],
                condition=Q(pinned_at__isnull=False),
                name="message_room_pinned",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} by {self.author} in {self.room}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class MessageEdit(models.Model):
    """A text a message had before an edit replaced it: a message's history."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="edits")
    body = models.TextField()
    html = models.TextField(blank=True, default="")
    # When this text was first shown (the message's creation or an earlier edit),
    # and when and by whom it was replaced.
    written_at = models.DateTimeField()
    replaced_at = models.DateTimeField()
    replaced_by = user_remembered()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.message_id} before {self.replaced_at:%Y-%m-%d %H:%M}"


class ThreadFollow(models.Model):
    """A user following a thread (its root's author, its repliers, or by choice),
    and how far they have read it. `following` False: they unfollowed, and stay
    so until they reply again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    root = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="follows")
    following = models.BooleanField(default=True)
    # The id of the latest reply they have read (0: none).
    last_read_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "root"], name="thread_follow_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} follows #{self.root_id}"


class SavedMessage(models.Model):
    """A message a user saved for later: theirs alone, on every device."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved"
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "message"], name="saved_unique")
        ]
        indexes = [models.Index(fields=["user", "-id"], name="saved_user_latest")]

    def __str__(self) -> str:
        return f"#{self.message_id} saved by {self.user}"


class Reaction(models.Model):
    """One user's emoji on a message; a user puts each emoji on a message once."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="reactions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions"
    )
    # Canonical (fully-qualified) Unicode emoji, chat.domain.emoji: the longest
    # in the data (a family with skin tones) is 15 code points.
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user", "emoji"], name="reaction_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user} on #{self.message_id}"


class ActiveQuerySet(models.QuerySet):
    def active(self) -> "ActiveQuerySet":
        """Those with no expiry, or one still ahead."""
        now = timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class Sanction(models.Model):
    """What bans and mutes share: why, until when, and who decided it."""

    reason = models.CharField(max_length=250, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ActiveQuerySet.as_manager()

    class Meta:
        abstract = True


class RoomBan(Sanction):
    """Keeps a user out of a room (no reading, posting or joining) until it expires."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_bans"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="room_ban_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} banned from {self.room}"


class Mute(Sanction):
    """Lets a user read a room but not post in it until `expires_at`."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="mutes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mutes"
    )
    expires_at = models.DateTimeField()  # a mute always ends

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="mute_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} muted in {self.room}"


class SiteBan(Sanction):
    """Keeps a user off the whole site's chat until it expires."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="site_ban"
    )

    def __str__(self) -> str:
        return f"{self.user} banned from the site"


class ModerationAction(models.Model):
    """The audit log: every moderation action, from admin or from the chat."""

    class Kind(models.TextChoices):
        DELETE_MESSAGE = "delete_message", "Deleted a message"
        KICK = "kick", "Kicked from a room"
        BAN = "ban", "Banned from a room"
        UNBAN = "unban", "Unbanned from a room"
        MUTE = "mute", "Muted in a room"
        UNMUTE = "unmute", "Unmuted in a room"
        SITE_BAN = "site_ban", "Banned from the site"
        SITE_UNBAN = "site_unban", "Unbanned from the site"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="moderation_actions",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderated",
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=250, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.actor}: {self.get_kind_display()} ({self.target})"


class UsernameKey(models.Model):
    """A normalised form of a user's name (chat.domain.confusables.username_keys):
    no two users share a key, so a new name cannot look like one already taken, and the
    check is one indexed lookup however many users there are."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=64, unique=True)  # a SHA-256 hex digest

    def __str__(self) -> str:
        return f"{self.key[:12]}... of {self.user}"


class Mention(models.Model):
    """A user a message mentions (chat.domain.mentions), by name or through @room
    or @here, worked out on the server when it is sent or edited; `read` once the
    user's read marker (of the room, or of the reply's thread) passes it."""

    class Kind(models.TextChoices):
        USER = "user", "@username"
        ROOM = "room", "@room"
        HERE = "here", "@here"

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="mention_set"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    # The message's room, kept here so a room's mention count is one index range.
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    read = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="mention_once")
        ]
        indexes = [
            # Mention counts: WHERE user = ? AND read = false (per room)
            models.Index(
                fields=["user", "room"],
                condition=Q(read=False),
                name="mention_unread",
            ),
            # The Mentions view: WHERE user = ? ORDER BY id DESC
            models.Index(fields=["user", "-id"], name="mention_user_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in #{self.message_id} ({self.kind})"


class UserSettings(models.Model):
    """A user's own preferences, on every device (chat.domain.services.preferences),
    and when they were last seen."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_settings"
    )
    desktop_notifications = models.BooleanField(default=True)
    email_notifications = models.BooleanField(default=True)
    # Minutes a DM or mention waits unread before it is emailed; NULL: the site's
    # CHAT_EMAIL_DELAY.
    email_delay = models.PositiveIntegerField(null=True, blank=True)
    # Do not disturb until then: no desktop notification and no push.
    dnd_until = models.DateTimeField(null=True, blank=True)
    # Others see when this user has read their messages.
    send_read_receipts = models.BooleanField(default=True)
    # When their last session ended (presence: "offline, last seen ...").
    last_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"settings of {self.user}"


class PushSubscription(models.Model):
    """One browser's Web Push subscription (a device): removed when its push
    service answers 404 or 410."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    # The browser's P-256 public key and auth secret, base64url, for encryption.
    p256dh = models.CharField(max_length=128)
    auth = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=250, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"push to {self.user} ({self.endpoint[:40]})"


class EmailNotice(models.Model):
    """A DM or mention that will be emailed to `user` at `due_at` if still unread
    then (chat.jobs.email): one email takes every notice of the user that is due."""

    class Reason(models.TextChoices):
        DIRECT = "direct", "Direct message"
        MENTION = "mention", "Mention"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=8, choices=Reason.choices)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "message"], name="email_once")
        ]
        indexes = [models.Index(fields=["user", "due_at"], name="email_due")]

    def __str__(self) -> str:
        return f"#{self.message_id} to {self.user} at {self.due_at:%H:%M}"
