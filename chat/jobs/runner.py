"""How chat.jobs' work is declared and retried: Django Tasks (the django-tasks
backport), stored by django-tasks-db and run by `manage.py db_worker` processes,
or by chat.infra.jobs' thread in the embedded default.

The Tasks API retries nothing by itself, so `job` does: a run that raises is
enqueued again, after 10 s, 40 s, 160 s, ... up to CHAT_JOB_ATTEMPTS runs, and
then left failed (its result row says why)."""

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

FIRST_RETRY = 10.0  # seconds; each next wait is 4 times longer


def backoff(attempt: int) -> timedelta:
    """The wait before run `attempt + 1`, after run `attempt` failed."""
    return timedelta(seconds=FIRST_RETRY * 4 ** (attempt - 1))


def job(fn: Callable[..., Any]) -> Any:
    """A Django Task running `fn`, retried with backoff when it raises. Its
    arguments must be JSON (ids, not objects)."""

    @functools.wraps(fn)
    def run(*args: Any, attempt: int = 1, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:
            if attempt >= settings.CHAT_JOB_ATTEMPTS:
                logger.exception("%s failed %d times: given up", fn.__name__, attempt)
                raise
            logger.warning(
                "%s failed (run %d), again in %s",
                fn.__name__,
                attempt,
                backoff(attempt),
                exc_info=True,
            )
            retry_later(declared, *args, failed_run=attempt, **kwargs)
            raise

    declared = task()(run)
    return declared


def retry_later(declared: Any, *args: Any, failed_run: int, **kwargs: Any) -> None:
    """Enqueue the next run of the `job` `declared` with these arguments, after
    the backoff of its run number `failed_run`."""
    declared.using(run_after=timezone.now() + backoff(failed_run)).enqueue(
        *args, attempt=failed_run + 1, **kwargs
    )
