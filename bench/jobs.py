"""The background job system's costs, on the database the settings name
(DATABASE_URL, migrated): `python -m bench jobs [--messages N]`.

- what enqueueing a message's notification job adds to storing it (a direct
  message, which always enqueues one: the message and its job commit together);
- how many notification jobs a db_worker runs per second (each a real
  message_notify: recipients, preferences, presence, an email notice);
- how long a job waits before a polling worker (interval 1 s) picks it up.

It makes users bench-jobs-a and bench-jobs-b and deletes what it made afterwards.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime

import django

STARTED = datetime.now(UTC)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench jobs")
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection

    vendor = connection.vendor
    print(f"database: {vendor} ({settings.DATABASES['default']['NAME']})")
    alice, bob = _users()
    try:
        with_job, without_job = _send_costs(alice, bob, args.messages)
        print(
            f"a direct message stored: {without_job * 1000:.2f} ms without its job, "
            f"{with_job * 1000:.2f} ms with it (+{(with_job - without_job) * 1000:.2f}"
            f" ms, {with_job / without_job:.2f}x)"
        )
        rate = _drain_rate(alice, bob, args.messages)
        print(f"db_worker: {rate:.0f} notification jobs/s (one worker, batch)")
        waits = _pickup_waits(alice, bob, samples=10)
        print(
            f"pick-up by a polling worker (interval 1 s): median "
            f"{statistics.median(waits) * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms"
        )
    finally:
        _clean(alice, bob)
    return 0


def _users():
    from django.contrib.auth import get_user_model

    made = []
    for name in ("bench-jobs-a", "bench-jobs-b"):
        user, _ = get_user_model().objects.get_or_create(
            username=name, defaults={"email": f"{name}@example.com"}
        )
        made.append(user)
    return made


def _send_costs(alice, bob, n: int) -> tuple[float, float]:
    """Seconds per direct message, with its job enqueued and without."""
    from chat.domain import services
    from chat.domain.services.notifications import message_stored
    from chat.jobs import notify

    def timed() -> float:
        start = time.perf_counter()
        for i in range(n):
            services.direct_message_send(
                user=bob, to_username=alice.username, body=f"m{i}"
            )
        return (time.perf_counter() - start) / n

    timed()  # warm-up: the room, connections, caches
    with_job = timed()
    message_stored.disconnect(dispatch_uid="chat_jobs_message_notify")
    try:
        without_job = timed()
    finally:
        message_stored.connect(
            notify.on_message_stored, dispatch_uid="chat_jobs_message_notify"
        )
    return with_job, without_job


def _worker(interval: float = 0, max_tasks: int | None = None):
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["*"],
        excluded_queue_names=[],
        interval=interval,
        batch=interval == 0,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id="bench",
    )


def _drain_rate(alice, bob, n: int) -> float:
    from django_tasks_db.models import DBTaskResult

    from chat.domain import services

    _worker().run()  # what the send costs left behind
    for i in range(n):
        services.direct_message_send(user=bob, to_username=alice.username, body=f"d{i}")
    ready = DBTaskResult.objects.filter(status="READY").count()
    start = time.perf_counter()
    _worker().run()
    return ready / (time.perf_counter() - start)


def _pickup_waits(alice, bob, samples: int) -> list[float]:
    from django_tasks_db.models import DBTaskResult

    from chat.domain import services

    worker = _worker(interval=1.0)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    waits = []
    try:
        for i in range(samples):
            time.sleep(0.37 * (i % 3))  # not in step with the worker's polls
            services.direct_message_send(
                user=bob, to_username=alice.username, body=f"p{i}"
            )
            job = DBTaskResult.objects.order_by("-enqueued_at").first()
            while True:
                job.refresh_from_db()
                if job.started_at is not None:
                    waits.append((job.started_at - job.enqueued_at).total_seconds())
                    break
                time.sleep(0.01)
    finally:
        worker.running = False
        thread.join(timeout=5)
    return waits


def _clean(alice, bob) -> None:
    """Remove what the run made: its users, their rooms, notices and jobs."""
    from django_tasks_db.models import DBTaskResult

    from chat.models import EmailNotice, Room

    DBTaskResult.objects.filter(enqueued_at__gte=STARTED).delete()
    EmailNotice.objects.filter(user__in=[alice, bob]).delete()
    Room.objects.filter(name=Room.direct_name(alice.pk, bob.pk)).delete()
    alice.delete()
    bob.delete()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
