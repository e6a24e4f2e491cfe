from django import forms
from django.contrib.auth.forms import UserCreationForm

from .errors import ChatError
from .models import Room
from .rules import room_name_clean
from .services import TOPIC_MAX


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)


class RoomNameField(forms.CharField):
    """A room name, validated and normalised exactly as the protocol does it."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_length=50, **kwargs)

    def clean(self, value: object) -> str:
        value = super().clean(value)
        try:
            return room_name_clean(value)
        except ChatError as error:
            raise forms.ValidationError(error.msg) from None


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


class RoomJoinForm(forms.Form):
    name = RoomNameField()


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150)
