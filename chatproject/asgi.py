"""ASGI entry point: HTTP to Django, WebSockets to the chat consumer.

Importing it only builds the application: server patches, the fast paths' checks
and collector tuning belong to the launchers (chatproject.servers)."""

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
from chatproject.middleware import (  # noqa: E402
    SameOriginValidator,
    WebSocketSessionMiddleware,
)

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
