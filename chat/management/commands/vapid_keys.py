"""Print a new VAPID key pair for Web Push, as environment lines."""

from django.core.management.base import BaseCommand

from chat.infra.vapid import new_key_pair


class Command(BaseCommand):
    help = (
        "Print a new VAPID key pair for Web Push, as VAPID_PRIVATE_KEY= and"
        " VAPID_PUBLIC_KEY= lines for the environment (docs/DEPLOY.md)."
        " Keep the pair: browsers subscribed with a public key get nothing"
        " signed with another, until their page subscribes again."
    )

    def handle(self, *args: object, **options: object) -> None:
        private, public = new_key_pair()
        self.stdout.write(f"VAPID_PRIVATE_KEY={private}")
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}")
