from django.urls import path

from chat.realtime.websocket import ChatConsumer

websocket_urlpatterns = [path("ws/chat/", ChatConsumer.as_asgi())]
