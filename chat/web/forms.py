from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.conf import settings
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    UserChangeForm,
    UserCreationForm,
)
from django.utils import timezone

from chat.domain.errors import ChatError
from chat.domain.rules import TOPIC_MAX, room_name_clean, shown_text_clean, topic_clean
from chat.domain.selectors import RoomNotify, username_looks_taken
from chat.domain.services import LOOKALIKE_NAME, RoomNotifyChange
from chat.domain.services.preferences import EMAIL_DELAY_MAX, EMAIL_DELAY_MIN
from chat.models import Notify, Room, UserSettings


def form_clean(clean: Callable[..., str], *args: str) -> str:
    """A rule's result, with its ChatError as the form field's error."""
    try:
        return clean(*args)
    except ChatError as error:
        raise forms.ValidationError(error.msg) from None


class LookalikeNameCheck:
    """A user form's username check: also refuse a name that looks like another
    user's (chat.domain.confusables), as services.user_signup does."""

    def clean_username(self) -> str | None:
        parent = getattr(super(), "clean_username", None)
        # Django's own check (names differing only in case) has said no: None.
        username = parent() if parent else self.cleaned_data.get("username")
        if username and username_looks_taken(username, excluding=self.instance.pk):
            raise forms.ValidationError(LOOKALIKE_NAME.capitalize() + ".")
        return username


class SignupForm(LookalikeNameCheck, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)

    def clean_username(self) -> str | None:
        # Django's username validator takes any letter, and the Hangul fillers are
        # letters that draw nothing: an invisible name.
        username = super().clean_username()  # None when the name is taken
        return username and form_clean(shown_text_clean, username, "username")


class AdminAddUserForm(LookalikeNameCheck, AdminUserCreationForm):
    pass


class AdminUserForm(LookalikeNameCheck, UserChangeForm):
    pass


class RoomNameField(forms.CharField):
    """A room name, validated and normalised exactly as the protocol does it."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_length=50, **kwargs)

    def clean(self, value: object) -> str:
        return form_clean(room_name_clean, super().clean(value))


class RoomCreateForm(forms.Form):
    name = RoomNameField(
        help_text="Lowercase letters, digits, '-' and '_', up to 50.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. book-club"}),
    )
    kind = forms.ChoiceField(
        choices=[
            (Room.Kind.PUBLIC, "Public (anyone can join)"),
            (Room.Kind.PRIVATE, "Private (people you add)"),
        ],
        initial=Room.Kind.PUBLIC,
    )
    topic = forms.CharField(max_length=TOPIC_MAX, required=False)

    def clean_topic(self) -> str:
        # services.room_create checks it again; here the error shows on the field.
        return form_clean(topic_clean, self.cleaned_data["topic"])


class RoomJoinForm(forms.Form):
    name = RoomNameField()


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150)


# --- Notification settings ------------------------------------------------------------

# Do-not-disturb, as the page offers it: a duration from now, or until a time.
DND_KEEP = "keep"
DND_OFF = "off"
DND_TOMORROW = "tomorrow"
DND_CUSTOM = "custom"
DND_MINUTES = {"30": 30, "60": 60, "240": 240}
DND_CHOICES = [
    (DND_OFF, "Off"),
    ("30", "For 30 minutes"),
    ("60", "For 1 hour"),
    ("240", "For 4 hours"),
    (DND_TOMORROW, "Until tomorrow, 9:00"),
    (DND_CUSTOM, "Until…"),
]
# The hour "until tomorrow" means, in the user's time zone.
DND_MORNING = time(9, 0)


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local input's value: a wall-clock time with no zone (the form
    knows the zone: the browser's)."""

    widget = forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
    )

    def to_python(self, value: object) -> datetime | None:
        moment = super().to_python(value)  # aware, in the active zone (UTC)
        return None if moment is None else timezone.make_naive(moment)


class NotificationSettingsForm(forms.Form):
    """The user's own preferences (UserSettings) as the settings page shows them;
    `settings_changes` is what services.user_settings_update takes."""

    desktop_notifications = forms.BooleanField(
        required=False,
        label="Desktop notifications",
        help_text="While the chat is open in a tab you are not looking at: direct"
        " messages, mentions, and rooms set to “All messages”.",
    )
    email_notifications = forms.BooleanField(
        required=False,
        label="Email notifications",
        help_text="Direct messages and mentions you have not read, in one email.",
    )
    email = forms.EmailField(
        required=False,
        label="Email address",
        help_text="Where notification emails go. Blank: none are sent.",
    )
    email_delay = forms.IntegerField(
        required=False,
        min_value=EMAIL_DELAY_MIN,
        max_value=EMAIL_DELAY_MAX,
        label="Email after (minutes unread)",
    )
    dnd = forms.ChoiceField(
        label="Do not disturb", widget=forms.RadioSelect, choices=DND_CHOICES
    )
    dnd_custom = LocalDateTimeField(required=False, label="Do not disturb until")
    # The browser's time zone (static/chat/settings.js): "tomorrow, 9:00" and a
    # custom time are the user's, not the server's. Without it: UTC.
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    send_read_receipts = forms.BooleanField(
        required=False,
        label="Send read receipts",
        help_text="The people in your direct and group conversations see how far"
        " you have read. Off: they do not, and you still see theirs.",
    )

    def __init__(
        self, *args: Any, current: UserSettings, email: str = "", **kwargs: Any
    ) -> None:
        self.dnd_until = dnd_until_shown(current)
        initial = {
            "email": email,
            "desktop_notifications": current.desktop_notifications,
            "email_notifications": current.email_notifications,
            "email_delay": current.email_delay,
            "dnd": DND_KEEP if self.dnd_until else DND_OFF,
            "send_read_receipts": current.send_read_receipts,
        }
        super().__init__(*args, initial=initial, **kwargs)
        site_delay = settings.CHAT_EMAIL_DELAY
        delay = self.fields["email_delay"]
        delay.help_text = f"Blank: the site's default, {site_delay} minutes."
        delay.widget.attrs["placeholder"] = str(site_delay)
        # Saving the rest of the page leaves do-not-disturb as it is: offered
        # while it is on, and taken from a page shown then (it may have ended
        # since: then there is nothing left to keep).
        posted_keep = self.is_bound and self.data.get("dnd") == DND_KEEP
        if self.dnd_until or posted_keep:
            keep = (DND_KEEP, "Keep it on until then")
            self.fields["dnd"].choices = [keep, *DND_CHOICES]

    def clean_time_zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.cleaned_data["time_zone"] or "UTC")
        except (ValueError, ZoneInfoNotFoundError):
            return ZoneInfo("UTC")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        choice = cleaned.get("dnd")
        custom = cleaned.get("dnd_custom")
        if choice == DND_CUSTOM:
            if custom is None:
                self.add_error("dnd_custom", "Pick the day and time it ends.")
            elif custom.replace(tzinfo=cleaned["time_zone"]) <= timezone.now():
                self.add_error("dnd_custom", "Pick a time in the future.")
        return cleaned

    def settings_changes(self) -> dict[str, Any]:
        """The settings as services.user_settings_update takes them."""
        data = self.cleaned_data
        changes = {
            name: data[name]
            for name in (
                "desktop_notifications",
                "email_notifications",
                "email_delay",
                "send_read_receipts",
            )
        }
        if data["dnd"] != DND_KEEP:
            changes["dnd_until"] = dnd_until_chosen(
                data["dnd"], data["dnd_custom"], data["time_zone"], timezone.now()
            )
        return changes


def dnd_until_shown(current: UserSettings) -> datetime | None:
    """When the user's do-not-disturb ends, while it is on."""
    until = current.dnd_until
    return until if until is not None and until > timezone.now() else None


def dnd_until_chosen(
    choice: str, custom: datetime | None, zone: ZoneInfo, now: datetime
) -> datetime | None:
    """The end of do-not-disturb for a choice of the page made at `now`: None
    (off), minutes from now, the next morning in `zone`, or the `custom` wall
    time in `zone`."""
    if choice in DND_MINUTES:
        return now + timedelta(minutes=DND_MINUTES[choice])
    if choice == DND_TOMORROW:
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(tomorrow, DND_MORNING, tzinfo=zone)
    if choice == DND_CUSTOM and custom is not None:
        return custom.replace(tzinfo=zone)
    return None


class RoomNotifyForm(forms.Form):
    """One of the user's rooms on the settings page: its level and mute. Its
    prefix is the room's id, so a row is its room's whatever the order."""

    notify = forms.ChoiceField(label="Notify me of")
    muted = forms.BooleanField(required=False, label="Mute")

    def __init__(self, data: Any = None, *, row: RoomNotify) -> None:
        prefix = f"room-{row.room_id}"
        if data is not None and f"{prefix}-notify" not in data:
            # The page that was posted did not show this room (it came since):
            # unbound, it is left as it is.
            data = None
        initial = {"notify": row.notify, "muted": row.muted}
        super().__init__(data, prefix=prefix, initial=initial)
        self.row = row
        default = Notify(row.default).label.lower()
        self.fields["notify"].choices = [
            (Notify.DEFAULT, f"Default ({default})"),
            *[(level, level.label) for level in Notify if level != Notify.DEFAULT],
        ]
        self.fields["notify"].label = f"Notify me of, in {row.label}"

    def change(self) -> RoomNotifyChange | None:
        """What the user changed in this room (a valid bound form), if anything."""
        changed = self.changed_data if self.is_bound else []
        if not changed:
            return None
        data = self.cleaned_data
        return RoomNotifyChange(
            room=self.row.room,
            notify=data["notify"] if "notify" in changed else None,
            muted=data["muted"] if "muted" in changed else None,
        )
