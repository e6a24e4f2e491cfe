"""ASGI entry point: HTTP to Django, WebSockets to the chat consumer."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
# Build Django's app (and so set up the app registry) before importing routing,
# which imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import CookieMiddleware  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from chatproject import daphne_close_codes  # noqa: E402
from chatproject.middleware import WebSocketSessionMiddleware  # noqa: E402

daphne_close_codes.install()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            # channels' AuthMiddlewareStack, with a session that is only read.
            CookieMiddleware(
                WebSocketSessionMiddleware(
                    AuthMiddleware(URLRouter(websocket_urlpatterns))
                )
            )
        ),
    }
)
