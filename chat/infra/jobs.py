"""The embedded default's job worker: django-tasks-db's own worker loop (what
`manage.py db_worker` runs), in a thread of the chat's server process, so that
`scripts/run` needs no second process. With CHAT_JOBS_IN_PROCESS off (the
default with REDIS_URL), `manage.py db_worker` processes run the jobs instead:
as many as wanted, on any machine with the database (docs/DEPLOY.md)."""

import logging
import os
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

POLL_INTERVAL = 1.0  # seconds between looks for a due job when there is none
RECOVER_INTERVAL = 60.0  # seconds between looks for jobs cut off by a killed worker

_started = threading.Lock()
_thread: threading.Thread | None = None


def start_in_process() -> bool:
    """Start the worker thread once per process, when CHAT_JOBS_IN_PROCESS is on;
    whether it runs."""
    global _thread
    if not settings.CHAT_JOBS_IN_PROCESS:
        return False
    with _started:
        if _thread is None:
            from django_tasks_db.management.commands.db_worker import Worker

            worker = Worker(
                queue_names=["*"],
                excluded_queue_names=[],
                interval=POLL_INTERVAL,
                batch=False,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=f"in-process-{os.getpid()}",
            )
            # Signals stay the server's: the thread dies with the process, and
            # a job it cut short is made due again by jobs_recover, in the
            # second thread, once CHAT_JOB_STALE_AFTER has passed.
            _thread = threading.Thread(target=worker.run, name="chat-jobs", daemon=True)
            _thread.start()
            threading.Thread(
                target=_recover_forever, name="chat-jobs-recover", daemon=True
            ).start()
            logger.info("running background jobs in this process")
    return True


def jobs_recover() -> int:
    """Make due again the jobs left "running" by a worker that died under them
    (django-tasks-db takes none back: its issue #5): those started over
    CHAT_JOB_STALE_AFTER seconds ago. The chat's jobs may run twice: a push
    again replaces the first on the device (same tag), an email notice is sent
    once it is cleared. How many were made due."""
    cutoff = timezone.now() - timedelta(seconds=settings.CHAT_JOB_STALE_AFTER)
    stale = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=cutoff
    )
    recovered = stale.update(status=TaskResultStatus.READY, started_at=None)
    if recovered:
        logger.warning("%d jobs cut off by a stopped worker: due again", recovered)
    return recovered


def _recover_forever() -> None:
    while True:
        try:
            jobs_recover()
        except Exception:  # the database away for a while: try again later
            logger.exception("recovering cut-off jobs failed")
        finally:
            connection.close()  # none held while it sleeps
        time.sleep(RECOVER_INTERVAL)
