"""HTTP pages: parse the request, call the domain, render. No rules live here."""

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import selectors, services
from .errors import ChatError
from .forms import RoomJoinForm, SignupForm


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("chat:index")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}!")
        return redirect("chat:index")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "chat/index.html",
        {
            "my_rooms": selectors.rooms_of_user(user=request.user),
            "public_rooms": selectors.public_rooms(),
            "form": RoomJoinForm(),
        },
    )


@login_required
@require_POST
def room_join(request: HttpRequest) -> HttpResponse:
    form = RoomJoinForm(request.POST)
    if form.is_valid():
        try:
            room = services.room_join(user=request.user, name=form.cleaned_data["name"])
        except ChatError as error:
            form.add_error("name", error.msg)
        else:
            return redirect("chat:room", name=room.name)
    return render(
        request,
        "chat/index.html",
        {
            "my_rooms": selectors.rooms_of_user(user=request.user),
            "public_rooms": selectors.public_rooms(),
            "form": form,
        },
        status=400,
    )


@login_required
def room(request: HttpRequest, name: str) -> HttpResponse:
    try:
        room = selectors.room_for_reading(user=request.user, name=name)
    except ChatError as error:
        return error_page(request, error)
    if room.is_direct:
        return error_page(request, ChatError("not_found", "no such room"))
    return render(request, "chat/room.html", {"room": room, "peer": None})


@login_required
def direct(request: HttpRequest, username: str) -> HttpResponse:
    peer = get_object_or_404(get_user_model(), username=username, is_active=True)
    if peer.pk == request.user.pk:
        return error_page(request, ChatError("invalid", "that is you"))
    room = selectors.direct_room_between(user=request.user, other=peer)
    return render(request, "chat/room.html", {"room": room, "peer": peer})


def error_page(request: HttpRequest, error: ChatError) -> HttpResponse:
    return render(
        request, "chat/error.html", {"error": error}, status=error.http_status
    )
