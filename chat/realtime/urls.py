"""The long-polling transport's URLs (chat.realtime.longpoll), under /poll/."""

from django.urls import path

from chat.realtime import longpoll

urlpatterns = [
    path("", longpoll.poll_open, name="poll_open"),
    path("<str:sid>/", longpoll.poll_session, name="poll_session"),
]
