from collections.abc import Callable

from django import forms
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    UserChangeForm,
    UserCreationForm,
)

from chat.domain.errors import ChatError
from chat.domain.rules import TOPIC_MAX, room_name_clean, shown_text_clean, topic_clean
from chat.domain.selectors import username_looks_taken
from chat.domain.services import LOOKALIKE_NAME
from chat.models import Room


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
