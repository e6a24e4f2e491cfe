from django import forms
from django.contrib.auth.forms import UserCreationForm


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)


class RoomJoinForm(forms.Form):
    name = forms.CharField(
        max_length=50,
        label="Room",
        help_text="Lowercase letters, digits, '-' and '_'. A new name creates a room.",
    )
