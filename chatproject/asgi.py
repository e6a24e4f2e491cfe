"""ASGI entry point: HTTP to Django, WebSockets to the chat consumer."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
# Build Django's app (and so set up the app registry) before importing routing,
# which imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware  # noqa: E402

from chat.realtime.routing import websocket_urlpatterns  # noqa: E402
from chatproject import daphne_close_codes, daphne_liveness  # noqa: E402
from chatproject.middleware import (  # noqa: E402
    SameOriginValidator,
    WebSocketSessionMiddleware,
)

daphne_close_codes.install()
daphne_liveness.install()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(
            # channels' AuthMiddlewareStack, with a session that is only read.
            CookieMiddleware(
                WebSocketSessionMiddleware(
                    AuthMiddleware(URLRouter(websocket_urlpatterns))
                )
            )
        ),
    }
)

# A busy worker allocates a few objects per frame and keeps many for long (its
# sockets' consumers, tasks, Django's modules); the collector's frequent passes over
# them took its p99 latency at 40,000 deliveries/s from 38 ms to 96 ms (BENCHMARKS.md).
# What startup made is never garbage: frozen, the collector skips it; and the
# youngest generation is collected every 50,000 allocations, not every 700.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
