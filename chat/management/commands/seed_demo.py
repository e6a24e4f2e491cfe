"""Create the demo room and two demo users, for trying the app locally."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chat.domain import services
from chat.models import Room

DEMO_USERS = ("alice", "bob")
DEMO_STAFF = "moderator"  # staff, for trying moderation in /admin/
DEMO_PASSWORD = "chat-demo-password"


class Command(BaseCommand):
    help = "Create the #general room and demo users alice and bob (DEBUG only)."

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo only runs with DEBUG on: it makes known passwords."
            )
        users = []
        for username in DEMO_USERS:
            user, created = get_user_model().objects.get_or_create(username=username)
            if created:
                user.set_password(DEMO_PASSWORD)
                # Their notification emails show in the server's console.
                user.email = f"{username}@example.com"
                user.save()
            users.append(user)
        staff, created = get_user_model().objects.get_or_create(
            username=DEMO_STAFF, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            staff.set_password(DEMO_PASSWORD)
            staff.save()
        if not Room.objects.filter(name="general").exists():
            services.room_create(
                user=users[0], name="general", topic="Say hello to everyone here"
            )
        for user in users:
            services.room_join(user=user, name="general")
        self.stdout.write(
            f"Demo room #general; log in as {' or '.join(DEMO_USERS)} "
            f"with password '{DEMO_PASSWORD}', or sign up. Staff: "
            f"'{DEMO_STAFF}' (same password) moderates at /admin/."
        )
