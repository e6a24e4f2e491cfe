from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("", views.index, name="index"),
    path("rooms/", views.room_join, name="room_join"),
    path("rooms/<str:name>/", views.room, name="room"),
    path("dm/<str:username>/", views.direct, name="direct"),
]
