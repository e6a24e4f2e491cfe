"""The embedded default's job worker: django-tasks-db's own worker loop (what
`manage.py db_worker` runs), in a thread of the chat's server process, so that
`scripts/run` needs no second process. With CHAT_JOBS_IN_PROCESS off (the
default with REDIS_URL), `manage.py db_worker` processes run the jobs instead:
as many as wanted, on any machine with the database (docs/DEPLOY.md)."""

import logging
import os
import threading

from django.conf import settings

logger = logging.getLogger(__name__)

POLL_INTERVAL = 1.0  # seconds between looks for a due job when there is none

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
            # a job cut short is run again (its row is still "running": see
            # docs/DEPLOY.md on restarts).
            _thread = threading.Thread(target=worker.run, name="chat-jobs", daemon=True)
            _thread.start()
            logger.info("running background jobs in this process")
    return True
