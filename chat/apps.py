from django.apps import AppConfig


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"

    def ready(self) -> None:
        from chat import signals  # noqa: F401  (connects the receivers)
        from chat.jobs import notify  # noqa: F401  (new messages' notifications)
