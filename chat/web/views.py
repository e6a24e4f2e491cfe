"""HTTP pages: parse the request, call the domain, render. No rules live here."""

import hmac
import ipaddress
import logging
import math
from collections.abc import Awaitable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from chat.domain import access, payloads, selectors, services, unsubscribe
from chat.domain.errors import ChatError, SiteBanned
from chat.infra import metrics, ratelimit, vapid, worker
from chat.web.forms import (
    InviteForm,
    NotificationSettingsForm,
    RoomCreateForm,
    RoomJoinForm,
    RoomNotifyForm,
    SignupForm,
)

logger = logging.getLogger(__name__)


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("chat:index")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            # Only a sign-up that would succeed takes a token: typos cost nothing.
            ratelimit.check_sync(_address_block(client_address(request)), "signup")
        except ChatError as error:
            minutes = math.ceil(error.extra["retryAfter"] / 60)
            form.add_error(
                None,
                "Too many new accounts from your address; try again in"
                f" {minutes} minutes.",
            )
            return render(
                request, "registration/signup.html", {"form": form}, status=429
            )
        try:
            user = services.user_signup(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
        except ChatError as error:
            form.add_error("username", error.msg.capitalize() + ".")
            return render(request, "registration/signup.html", {"form": form})
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}!")
        return redirect("chat:directory")
    return render(request, "registration/signup.html", {"form": form})


def client_address(request: HttpRequest) -> str:
    """The client's address: daphne's peer, or with --proxy-headers the one nginx
    put in X-Forwarded-For (deploy/nginx overwrites what the client sent)."""
    return request.META.get("REMOTE_ADDR", "")


def _address_block(address: str) -> str:
    """What the sign-up limit counts by: the address, or for IPv6 its /64, which a
    single client is commonly given whole."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def login_locked_out(request: HttpRequest, *args: object) -> HttpResponse:
    """django-axes' answer to a log-in while the name is locked out from this
    address: the log-in page again, saying why and for how long."""
    # (axes passes the original response and credentials, in an order that
    # depends on whether the middleware ran sync or async: neither is needed.)
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    form = AuthenticationForm(
        request, initial={"username": request.POST.get("username", "")}
    )
    return render(
        request,
        "registration/login.html",
        {
            "form": form,
            "next": request.POST.get("next", ""),
            "locked_out": (
                "Too many failed log-ins for this name from your address. Try"
                f" again in {minutes} minutes, or ask staff to unlock the account."
            ),
        },
        status=429,
    )


# --- The app: one page, with a room, a conversation or nothing open -----------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return app_page(request)


@login_required
def room(request: HttpRequest, name: str) -> HttpResponse:
    try:
        room = access.room_for_reading(user=request.user, name=name)
    except ChatError as error:
        return error_page(request, error)
    if room.is_direct:
        return error_page(request, ChatError("not_found", "no such room"))
    return app_page(request, open_room=room.name)


@login_required
def direct(request: HttpRequest, username: str) -> HttpResponse:
    peer = get_user_model().objects.filter(username=username, is_active=True).first()
    if peer is None:
        return error_page(request, ChatError("not_found", f"no user named {username}"))
    if peer.pk == request.user.pk:
        return error_page(request, ChatError("invalid", "that is you"))
    room = selectors.direct_room_between(user=request.user, other=peer)
    return app_page(
        request, open_room=room.name if room else "", peer=peer.get_username()
    )


@login_required
def group(request: HttpRequest) -> HttpResponse:
    """/dm/?to=ana,ben: the conversation with those people, checked as
    private_message checks them. Opens their group room where there is one that
    the user is in; otherwise an empty conversation, whose first message makes
    the room (a visit alone makes nothing)."""
    names = [n.strip() for n in request.GET.get("to", "")[:2000].split(",")]
    try:
        others = services.conversation_people(
            user=request.user, usernames=[n for n in names if n]
        )
    except ChatError as error:
        return error_page(request, error)
    if len(others) == 1:
        return redirect("chat:direct", username=others[0].get_username())
    room = selectors.group_room_of(user=request.user, others=others)
    if room is not None:
        return redirect("chat:room", name=room.name)
    group = ",".join(sorted(o.get_username() for o in others))
    return app_page(request, group=group)


def app_page(
    request: HttpRequest, *, open_room: str = "", peer: str = "", group: str = ""
) -> HttpResponse:
    return render(
        request,
        "chat/app.html",
        {
            "rooms": selectors.rooms_of_user(user=request.user),
            "open_room": open_room,
            "peer": peer,
            "group": group,
            "max_length": settings.CHAT_MAX_MESSAGE_LENGTH,
            # "" when push is off: the page then offers none.
            "vapid_public_key": vapid.application_server_key(),
            "chat_settings": payloads.settings_object(
                selectors.user_settings_of(request.user)
            ),
        },
    )


# --- The room directory ---------------------------------------------------------


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    return directory_page(request, RoomCreateForm())


def directory_page(
    request: HttpRequest, form: RoomCreateForm, status: int = 200
) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    return render(
        request,
        "chat/directory.html",
        {
            "query": query,
            "rooms": selectors.room_directory(user=request.user, query=query),
            "form": form,
        },
        status=status,
    )


@login_required
@require_POST
def room_create(request: HttpRequest) -> HttpResponse:
    form = RoomCreateForm(request.POST)
    if form.is_valid():
        try:
            room = services.room_create(user=request.user, **form.cleaned_data)
        except SiteBanned as error:
            return error_page(request, error)
        except ChatError as error:
            form.add_error("name", error.msg)
            return directory_page(request, form, status=error.http_status)
        return redirect("chat:room", name=room.name)
    return directory_page(request, form, status=400)


@login_required
@require_POST
def room_join(request: HttpRequest) -> HttpResponse:
    form = RoomJoinForm(request.POST)
    if not form.is_valid():
        return error_page(request, ChatError("invalid", form.errors["name"][0]))
    try:
        room = services.room_join(user=request.user, name=form.cleaned_data["name"])
    except ChatError as error:
        return error_page(request, error)
    return redirect("chat:room", name=room.name)


@login_required
@require_POST
def room_invite(request: HttpRequest, name: str) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        username = form.cleaned_data["username"].strip()
        try:
            services.room_invite(user=request.user, room_name=name, username=username)
        except SiteBanned as error:
            return error_page(request, error)
        except ChatError as error:
            messages.error(request, f"Could not add {username}: {error.msg}.")
        else:
            messages.success(request, f"Added {username} to #{name}.")
    return redirect("chat:room", name=name)


# --- Notification settings, and unsubscribing from emails ----------------------------


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    """The user's notification preferences and each of their rooms'. Saved through
    the services, so their other tabs and devices are told (settings_changed,
    room_notify)."""
    data = request.POST if request.method == "POST" else None
    form = NotificationSettingsForm(
        data,
        current=selectors.user_settings_of(request.user),
        email=request.user.email,
    )
    rooms = [
        RoomNotifyForm(data, row=row)
        for row in selectors.room_notify_levels(user=request.user)
    ]
    posted = [form, *(f for f in rooms if f.is_bound)]
    if data is not None and all([f.is_valid() for f in posted]):
        try:
            services.notification_preferences_save(
                user=request.user,
                settings=form.settings_changes(),
                rooms=[change for f in rooms if (change := f.change())],
                email=form.cleaned_data["email"],
            )
        except ChatError as error:  # a room left or banned from meanwhile
            form.add_error(None, error.msg.capitalize() + ".")
        else:
            messages.success(request, "Your notification settings are saved.")
            return redirect("chat:notification_settings")
    return render(
        request,
        "chat/settings.html",
        {"form": form, "rooms": rooms},
        status=400 if data is not None else 200,
    )


# The mail client posts here on its own (RFC 8058): it has no CSRF token, and the
# signed token in the link is what proves the request (a GET changes nothing).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def email_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """An email's unsubscribe link, without logging in: GET asks, POST (a mail
    client's one click, or the page's button) turns email notifications off."""
    try:
        if request.method == "POST":
            if request.POST.get("List-Unsubscribe") != "One-Click":
                raise ChatError("invalid", "this is not an unsubscribe request")
            user = services.email_unsubscribe(token=token)
        else:
            user = unsubscribe.user_for_token(token)
    except ChatError as error:
        return error_page(request, error)
    return render(
        request,
        "chat/unsubscribe.html",
        {
            "username": user.get_username(),
            "done": request.method == "POST",
            "emails_on": selectors.user_settings_of(user).email_notifications,
        },
    )


def error_page(request: HttpRequest, error: ChatError) -> HttpResponse:
    return render(
        request, "chat/error.html", {"error": error}, status=error.http_status
    )


# --- Operations: health checks and metrics, for load balancers and Prometheus -------


async def healthz(request: HttpRequest) -> JsonResponse:
    """200 when this worker reaches the database and its channel layer, else 503
    with the reason for each check."""
    checks = {
        "database": await _check(sync_to_async(_database_ping)()),
        "channel_layer": await _check(worker.layer_round_trip()),
    }
    healthy = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "worker": worker.name()}
    return JsonResponse({**body, "checks": checks}, status=200 if healthy else 503)


async def _check(probe: Awaitable[None]) -> str:
    try:
        await probe
    except TimeoutError:
        return "timed out"
    except Exception as error:
        logger.warning("health check failed: %r", error)
        return f"unreachable ({error.__class__.__name__})"
    return "ok"


def _database_ping() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def metrics_page(request: HttpRequest) -> HttpResponse:
    """This worker's metrics: for the bearer of CHAT_METRICS_TOKEN, or, with no
    token and no proxy headers trusted, for loopback."""
    token = settings.CHAT_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        allowed = hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    elif settings.CHAT_TRUST_PROXY_HEADERS:
        # REMOTE_ADDR is then the X-Forwarded-For that anyone who reaches the
        # worker's port may send, not the TCP peer (which the servers do not pass
        # on): loopback proves nothing, so only a token opens the page.
        allowed = False
    else:
        allowed = request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1")
    if not allowed:
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
