"""Background jobs in tests: run what is due, as a db_worker would, and let time
pass for what waits."""

from datetime import timedelta

from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from chat.models import EmailNotice


def run_jobs() -> None:
    """Run every job that is due now, as a db_worker would."""
    Worker(
        queue_names=["*"],
        excluded_queue_names=[],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
    ).run()


def make_due_now() -> None:
    """Time passes: what was scheduled for later is due."""
    past = timezone.now() - timedelta(seconds=1)
    EmailNotice.objects.update(due_at=past)
    DBTaskResult.objects.filter(run_after__isnull=False).update(run_after=past)
