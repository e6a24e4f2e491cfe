"""Notifications that reach people who are away: who a new message notifies and
how (push, a later email), decided per recipient by presence and preferences;
the job system that carries it (enqueued with the message, retried with
backoff); and the emails, batched per user and checked again before sending."""

import io
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from chat.domain import notify, services
from chat.domain.notify import Reason, Recipient
from chat.domain.selectors.notifications import rooms_notifying_all
from chat.domain.services import notifications
from chat.domain.services.notifications import email_notice_add
from chat.infra import presence
from chat.jobs import email as email_jobs
from chat.jobs import notify as notify_jobs
from chat.jobs import push, runner
from chat.models import EmailNotice, Membership, Notify, Room, UserSettings

from .jobs import make_due_now, run_jobs

pytestmark = pytest.mark.django_db(transaction=True)

NOW = timezone.now()


def recipient(**changes) -> Recipient:
    fields = {
        "user_id": 1,
        "username": "alice",
        "reason": Reason.MENTION,
        "notify": Notify.DEFAULT,
        "muted": False,
        "dnd_until": None,
        "desktop_on": True,
        "email_on": True,
        "has_email": True,
    }
    return Recipient(**{**fields, **changes})


# --- The decision, per recipient ------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "conversation", "active", "push_wanted", "email_wanted"),
    [
        # Away (idle or offline): a mention pushes and emails.
        ({}, False, False, True, True),
        # At the chat: their tab tells them; nothing else.
        ({}, False, True, False, False),
        # A muted room still lets mentions through.
        ({"muted": True}, False, False, True, True),
        # "Nothing" lets nothing through, not even a mention.
        ({"notify": Notify.NOTHING}, False, False, False, False),
        # A room's message, no mention: only for members at "all", not muted.
        ({"reason": Reason.ALL, "notify": Notify.ALL}, False, False, True, False),
        (
            {"reason": Reason.ALL, "notify": Notify.ALL, "muted": True},
            False,
            False,
            False,
            False,
        ),
        # A direct message: the default level there is "all".
        ({"reason": Reason.DIRECT}, True, False, True, True),
        (
            {"reason": Reason.DIRECT, "notify": Notify.MENTIONS},
            True,
            False,
            False,
            False,
        ),
        ({"reason": Reason.DIRECT, "muted": True}, True, False, False, False),
        # Do not disturb: no push; the email (later, if unread) still comes.
        ({"dnd_until": NOW + timedelta(hours=1)}, False, False, False, True),
        ({"dnd_until": NOW - timedelta(hours=1)}, False, False, True, True),
        # Desktop notifications off: no push either.
        ({"desktop_on": False}, False, False, False, True),
        # Email off, or no address: push only.
        ({"email_on": False}, False, False, True, False),
        ({"has_email": False}, False, False, True, False),
    ],
)
def test_who_is_told_how(changes, conversation, active, push_wanted, email_wanted):
    decision = notify.decide(
        recipient(**changes), is_conversation=conversation, active=active, now=NOW
    )
    assert (decision.push, decision.email) == (push_wanted, email_wanted)


# --- The job, end to end on the database -------------------------------------------


@pytest.fixture
def pushes(monkeypatch) -> list[tuple[int, dict]]:
    """The pushes sent (chat.jobs.push is tested against a real push endpoint in
    tests/test_push.py): recorded here."""
    sent: list[tuple[int, dict]] = []

    def record(user_id: int, payload: dict, **kwargs) -> int:
        sent.append((user_id, payload))
        return 1

    monkeypatch.setattr(push, "push_send", record)
    return sent


@pytest.fixture
def active(monkeypatch) -> set[str]:
    """Who is at the chat right now, as the presence store would say."""
    here: set[str] = set()
    monkeypatch.setattr(
        presence,
        "active_usernames",
        lambda names: {n for n in names if n in here},
    )
    return here


def people(make_user):
    alice = make_user("alice", email="alice@example.com")
    bob = make_user("bob", email="bob@example.com")
    carol = make_user("carol", email="carol@example.com")
    for user in (alice, bob, carol):
        services.room_join(user=user, name="general")
    return alice, bob, carol


def test_a_mention_in_a_muted_room_reaches_an_away_member_by_push_and_email(
    make_user, pushes, active
):
    alice, bob, _carol = people(make_user)
    Membership.objects.filter(user=alice).update(muted=True)
    active.add("carol")  # carol is at the chat, alice is not
    message = services.message_send(
        user=bob, room_name="general", body="@alice @carol the deploy is done"
    ).message
    # The message enqueued its job, stored with it.
    assert (
        DBTaskResult.objects.filter(task_path__endswith="message_notify").count() == 1
    )
    run_jobs()

    assert [user_id for user_id, _ in pushes] == [alice.pk]
    payload = pushes[0][1]
    assert payload["title"] == "bob in #general"
    assert payload["body"] == "@alice @carol the deploy is done"
    assert payload["url"] == f"/?room=general&message={message.pk}"
    # The email waits for the delay; nothing is sent before.
    assert mail.outbox == []
    notice = EmailNotice.objects.get()
    assert notice.user == alice
    delay = notice.due_at - message.created_at
    assert delay == timedelta(minutes=10)

    make_due_now()
    run_jobs()
    (sent,) = mail.outbox
    assert sent.to == ["alice@example.com"]
    assert sent.subject == "bob wrote to you"
    assert "bob mentioned you in #general" in sent.body
    assert "the deploy is done" in sent.body
    html, kind = sent.alternatives[0]
    assert kind == "text/html" and "the deploy is done" in html
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/notifications/unsubscribe/" in sent.extra_headers["List-Unsubscribe"]
    assert EmailNotice.objects.count() == 0


def test_a_plain_room_message_enqueues_no_job(make_user, pushes, active, settings):
    settings.CHAT_LOUD_ROOMS_TTL = 0  # levels changed below, behind the service
    alice, bob, _ = people(make_user)
    services.message_send(user=bob, room_name="general", body="hello all")
    assert DBTaskResult.objects.count() == 0
    # Unless a member wants every message of the room.
    Membership.objects.filter(user=alice).update(notify=Notify.ALL)
    services.message_send(user=bob, room_name="general", body="hello again")
    run_jobs()
    assert [user_id for user_id, _ in pushes] == [alice.pk]
    assert EmailNotice.objects.count() == 0  # not a DM, not a mention


def test_direct_messages_are_batched_into_one_email(make_user, pushes, active):
    alice, bob, carol = people(make_user)
    UserSettings.objects.create(user=alice, email_delay=3)
    first = services.direct_message_send(user=bob, to_username="alice", body="hi")
    services.direct_message_send(user=carol, to_username="alice", body="lunch?")
    services.direct_message_send(user=bob, to_username="alice", body="are you there")
    run_jobs()
    notices = list(EmailNotice.objects.order_by("id"))
    assert len(notices) == 3
    # The batch is due when its first notice is: after alice's own delay.
    assert {n.due_at for n in notices} == {
        first.message.created_at + timedelta(minutes=3)
    }
    make_due_now()
    run_jobs()
    (sent,) = mail.outbox
    assert sent.subject == "3 unread messages from bob, carol"
    for text in ("hi", "lunch?", "are you there"):
        assert text in sent.body
    assert sent.body.count("in a direct message") == 3


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one write at a time"
)
def test_a_notice_added_while_a_batch_is_cleared_gets_exactly_one_email(
    make_user, pushes, active, monkeypatch
):
    """A notice that comes while the email job clears the batch it sent: either
    it finds no batch and starts one (with its own job), or the clearing job
    sees it and enqueues the next; never both (two emails), never neither."""
    alice, bob, _ = people(make_user)
    services.direct_message_send(user=bob, to_username="alice", body="first")
    run_jobs()  # its notice, and the batch's email job for later
    later = services.direct_message_send(user=bob, to_username="alice", body="2nd")
    DBTaskResult.objects.filter(task_path__endswith="message_notify").delete()
    make_due_now()

    added: list[object] = []

    def add_the_second() -> None:
        try:
            to_alice = recipient(user_id=alice.pk, reason=Reason.DIRECT)
            added.append(email_notice_add(later.message, to_alice))
        finally:
            connection.close()

    real_next_due = notifications._next_due

    def next_due_with_a_notice_coming(user_id: int):
        # The second notice comes now, from another job worker; it has a second
        # to get in before the clearing job looks for what is left.
        adding = threading.Thread(target=add_the_second)
        adding.start()
        adding.join(1.0)
        return real_next_due(user_id)

    monkeypatch.setattr(notifications, "_next_due", next_due_with_a_notice_coming)
    run_jobs()  # sends the first email, and clears its batch
    deadline = time.monotonic() + 10
    while not added and time.monotonic() < deadline:
        time.sleep(0.05)

    assert len(mail.outbox) == 1
    [started_a_batch] = added
    jobs_for_the_rest = DBTaskResult.objects.filter(
        task_path__endswith="email_notices_send", status="READY"
    ).count()
    assert (started_a_batch is not None) + jobs_for_the_rest == 1


def test_what_was_read_or_deleted_meanwhile_is_not_emailed(make_user, pushes, active):
    alice, bob, _ = people(make_user)
    read = services.direct_message_send(user=bob, to_username="alice", body="one")
    gone = services.direct_message_send(user=bob, to_username="alice", body="two")
    run_jobs()
    services.room_mark_read(
        user=alice, room_name=read.message.room.name, message_id=read.message.pk
    )
    services.message_delete(user=bob, message_id=gone.message.pk)
    make_due_now()
    run_jobs()
    assert mail.outbox == []  # nothing left to tell: no email at all
    assert EmailNotice.objects.count() == 0


def test_email_off_or_dnd_or_active(make_user, pushes, active):
    alice, bob, carol = people(make_user)
    UserSettings.objects.create(user=alice, email_notifications=False)
    UserSettings.objects.create(
        user=carol, dnd_until=timezone.now() + timedelta(hours=2)
    )
    services.message_send(user=bob, room_name="general", body="@alice @carol hey")
    run_jobs()
    # alice: a push, no email; carol: no push (do not disturb), an email later.
    assert [user_id for user_id, _ in pushes] == [alice.pk]
    assert list(EmailNotice.objects.values_list("user__username", flat=True)) == [
        "carol"
    ]
    # Turning email off after the notice was made still stops the email.
    UserSettings.objects.filter(user=carol).update(email_notifications=False)
    make_due_now()
    run_jobs()
    assert mail.outbox == []


def test_a_failing_job_is_retried_with_backoff(make_user, monkeypatch, active):
    alice, bob, _ = people(make_user)
    calls = []

    def flaky(user_id: int, payload: dict, **kwargs) -> int:
        calls.append(user_id)
        if len(calls) < 3:
            raise ConnectionError("push service unreachable")
        return 1

    monkeypatch.setattr(push, "push_send", flaky)
    services.direct_message_send(user=bob, to_username="alice", body="ping")
    run_jobs()
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.task_path.endswith("message_notify")
    wait = retry.run_after - timezone.now()
    assert timedelta(seconds=5) < wait <= runner.backoff(1)
    assert retry.args_kwargs["kwargs"] == {"attempt": 2}
    make_due_now()
    run_jobs()  # the second run fails too: the third is due after 40 s
    retry = DBTaskResult.objects.get(status="READY")
    assert runner.backoff(1) < retry.run_after - timezone.now() <= runner.backoff(2)
    make_due_now()
    run_jobs()
    assert calls == [alice.pk] * 3
    retries = DBTaskResult.objects.filter(task_path__endswith="message_notify")
    assert not retries.filter(status="READY").exists()


def test_a_job_whose_worker_was_killed_runs_again(make_user, pushes, active):
    """A worker SIGKILLed mid-job leaves its row "running"; once
    CHAT_JOB_STALE_AFTER has passed, jobs_recover (a timer, or the embedded
    default's thread) makes it due and the notification still goes out."""
    alice, bob, _ = people(make_user)
    services.direct_message_send(user=bob, to_username="alice", body="ping")
    services.direct_message_send(user=alice, to_username="bob", body="pong")
    first, second = DBTaskResult.objects.order_by("enqueued_at")
    # Both taken by a worker that then died: one 11 minutes ago, one just now
    # (maybe still at work).
    for job, minutes in ((first, 11), (second, 1)):
        job.claim("killed-worker")
        started = timezone.now() - timedelta(minutes=minutes)
        DBTaskResult.objects.filter(pk=job.pk).update(started_at=started)
    run_jobs()
    assert pushes == []  # nothing takes a "running" job by itself

    out = io.StringIO()
    call_command("jobs_recover", stdout=out)
    assert out.getvalue().strip() == "1 jobs due again"
    run_jobs()
    assert [user_id for user_id, _ in pushes] == [alice.pk]
    first.refresh_from_db()
    assert first.status == "SUCCESSFUL"
    assert first.worker_ids == ["killed-worker", "test"]
    assert DBTaskResult.objects.get(pk=second.pk).status == "RUNNING"


def test_a_deleted_message_notifies_nobody(make_user, pushes, active):
    _alice, bob, _ = people(make_user)
    sent = services.direct_message_send(user=bob, to_username="alice", body="oops")
    services.message_delete(user=bob, message_id=sent.message.pk)
    run_jobs()
    assert pushes == []
    assert EmailNotice.objects.count() == 0


def test_the_email_lists_many_and_says_how_many_more(make_user, pushes, active):
    _alice, bob, _ = people(make_user)
    for n in range(email_jobs.SHOWN_MAX + 3):
        services.direct_message_send(user=bob, to_username="alice", body=f"n{n}")
    run_jobs()
    make_due_now()
    run_jobs()
    (sent,) = mail.outbox
    assert "... and 3 more." in sent.body
    assert sent.subject.startswith(f"{email_jobs.SHOWN_MAX + 3} unread messages")


def test_notify_payload_for_a_direct_message(make_user):
    alice, bob, _ = people(make_user)
    sent = services.direct_message_send(user=bob, to_username="alice", body="x" * 500)
    payload = notify_jobs.push_payload(sent.message)
    assert payload["title"] == "bob"
    assert len(payload["body"]) == notify_jobs.PUSH_TEXT_MAX
    assert payload["room"] == Room.direct_name(alice.pk, bob.pk)


def test_the_batched_store_enqueues_jobs_only_where_someone_wants_all(
    make_user, pushes, active, settings
):
    """On PostgreSQL plain messages are stored in one statement per batch
    (services.messages_send_many), which also says which rooms have a member
    at "all messages": only their messages get a notification job."""
    settings.CHAT_LOUD_ROOMS_TTL = 60  # the service forgets what it read
    alice, bob, _ = people(make_user)
    loud = services.room_create(user=bob, name="loud")
    services.membership_add(room=loud, user=alice)
    assert loud.pk not in rooms_notifying_all()  # read now, kept for a minute
    services.room_notify_set(user=alice, room_name="loud", notify=Notify.ALL)
    general = Room.objects.get(name="general")
    drafts = [
        services.message_draft(
            user=bob, room_id=room.pk, room_name=room.name, body=text, client_id=None
        )
        for room, text in ((general, "quiet one"), (loud, "loud one"))
    ]
    results = services.messages_send_many(drafts)
    assert all(isinstance(r, services.SentMessage) for r in results)
    jobs = DBTaskResult.objects.filter(task_path__endswith="message_notify")
    assert [j.args_kwargs["args"] for j in jobs] == [[results[1].message.pk]]
    run_jobs()
    assert [(user_id, p["body"]) for user_id, p in pushes] == [(alice.pk, "loud one")]
