from django.contrib import admin
from django.urls import include, path

from chat.web import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics_page, name="metrics"),
    path("admin/", admin.site.urls),
    # Protocol v1 over HTTP long-polling, where WebSockets cannot pass.
    path("poll/", include("chat.realtime.urls")),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("chat.web.urls")),
]
