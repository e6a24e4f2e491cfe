"""Make due again the background jobs a killed worker left "running"."""

from django.core.management.base import BaseCommand

from chat.infra.jobs import jobs_recover


class Command(BaseCommand):
    help = (
        'Make due again the jobs left "running" for over CHAT_JOB_STALE_AFTER'
        " seconds by a job worker that was killed (SIGKILL, OOM, power loss)."
        " Run it every few minutes (deploy/systemd/chat-jobs-recover.timer)."
    )

    def handle(self, *args: object, **options: object) -> None:
        recovered = jobs_recover()
        self.stdout.write(f"{recovered} jobs due again")
