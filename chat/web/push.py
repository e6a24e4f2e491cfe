"""Web Push over HTTP: the browser's subscription in and out
(/push/subscriptions), and the service worker that shows the pushes (/sw.js)."""

import functools
import json
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.contrib.staticfiles import finders
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods

from chat.domain.errors import ChatError
from chat.domain.services.push import push_subscription_delete, push_subscription_save

# Much more than PushSubscription.toJSON() gives (an endpoint of at most 1000
# characters and two short keys).
BODY_MAX_BYTES = 4096
# The endpoint this session subscribed, forgotten when it logs out.
SESSION_ENDPOINT = "chat_push_endpoint"
SERVICE_WORKER = "chat/sw.js"


@require_http_methods(["POST", "DELETE"])
def subscriptions(request: HttpRequest) -> HttpResponse:
    """POST {endpoint, keys: {p256dh, auth}} (PushSubscription.toJSON()): 201, or
    200 for one known already. DELETE {endpoint}: 204. Logged-in members only;
    Django's CSRF check applies (the client sends X-CSRFToken)."""
    if not request.user.is_authenticated:
        return _error(ChatError("forbidden", "log in first"), status=401)
    try:
        body = _json_object(request)
        if request.method == "DELETE":
            return _unsubscribe(request, body)
        return _subscribe(request, body)
    except ChatError as error:
        return _error(error)


def _subscribe(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    keys = body.get("keys")
    if not isinstance(keys, dict):
        raise ChatError("invalid", "keys: {p256dh, auth}")
    subscription, created = push_subscription_save(
        user=request.user,
        endpoint=body.get("endpoint"),
        p256dh=keys.get("p256dh"),
        auth=keys.get("auth"),
        user_agent=request.headers.get("User-Agent", ""),
    )
    request.session[SESSION_ENDPOINT] = subscription.endpoint
    return JsonResponse(
        {"endpoint": subscription.endpoint}, status=201 if created else 200
    )


def _unsubscribe(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    endpoint = body.get("endpoint")
    push_subscription_delete(user=request.user, endpoint=endpoint)
    if request.session.get(SESSION_ENDPOINT) == endpoint:
        del request.session[SESSION_ENDPOINT]
    return HttpResponse(status=204)


def _json_object(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > BODY_MAX_BYTES:
        raise ChatError("too_long", f"at most {BODY_MAX_BYTES} bytes")
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ChatError("invalid", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ChatError("invalid", "the body is not a JSON object")
    return body


def _error(error: ChatError, status: int | None = None) -> JsonResponse:
    return JsonResponse(
        {"code": error.code, "msg": error.msg}, status=status or error.http_status
    )


@receiver(user_logged_out, dispatch_uid="chat_push_forget_on_log_out")
def forget_on_log_out(
    sender: type, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """A browser logged out gets no more of its member's notifications, even if
    its page could not unsubscribe first (static/chat/push.js tries)."""
    endpoint = request.session.get(SESSION_ENDPOINT) if request is not None else None
    if endpoint and user is not None:
        push_subscription_delete(user=user, endpoint=endpoint)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """static/chat/sw.js at the site's root, so that its scope is the whole site
    (a worker's scope is at most its own directory unless Service-Worker-Allowed
    says otherwise). Never cached: a browser checks it for updates."""
    response = HttpResponse(
        _service_worker_source(), content_type="text/javascript; charset=utf-8"
    )
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


def _service_worker_source() -> bytes:
    if settings.DEBUG:  # edited while the server runs
        return _read_service_worker()
    return _cached_service_worker()


def _read_service_worker() -> bytes:
    # Found as collectstatic finds it (the checkout's static/), not collected:
    # its name must not change with its content.
    path = finders.find(SERVICE_WORKER)
    if path is None:  # a broken checkout: fail loudly
        raise FileNotFoundError(SERVICE_WORKER)
    with open(path, "rb") as file:
        return file.read()


_cached_service_worker = functools.cache(_read_service_worker)
