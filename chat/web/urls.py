from django.urls import path

from chat.web import emoji, push, views

app_name = "chat"

urlpatterns = [
    path("", views.index, name="index"),
    path("emoji.json", emoji.emoji_index, name="emoji_index"),
    # At the root: a service worker's scope is its own path's directory.
    path("sw.js", push.service_worker, name="service_worker"),
    path("push/subscriptions", push.subscriptions, name="push_subscriptions"),
    path("rooms/", views.directory, name="directory"),
    path("rooms/create/", views.room_create, name="room_create"),
    path("rooms/join/", views.room_join, name="room_join"),
    path("rooms/<str:name>/", views.room, name="room"),
    path("rooms/<str:name>/invite/", views.room_invite, name="room_invite"),
    path("dm/", views.group, name="group"),
    path("dm/<str:username>/", views.direct, name="direct"),
    path(
        "settings/notifications/",
        views.notification_settings,
        name="notification_settings",
    ),
    path(
        "notifications/unsubscribe/<str:token>/",
        views.email_unsubscribe,
        name="unsubscribe",
    ),
]
