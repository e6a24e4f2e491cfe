"""The long-polling transport on real workers: beside WebSocket clients, through
nginx's routing, and across a worker that dies."""

import asyncio

import pytest

from .conftest import NGINX, Nginx
from .test_workers import wait_for_health


async def test_a_long_poll_client_and_a_socket_chat_across_two_workers(
    make_cluster, close_clients
):
    cluster = make_cluster(workers=2)
    ana, ben = cluster.users("ana", "ben")
    room = f"mixed-{cluster.name}"
    poll = await cluster.poll_client(ana, 0)
    sock = await cluster.client(ben, 1)
    close_clients.extend([poll, sock])
    await poll.request("join_room", {"room": room})
    await sock.request("join_room", {"room": room})

    await poll.request("send_message", {"room": room, "message": "from the poll"})
    assert (await sock.event("receive_message", room=room))[
        "message"
    ] == "from the poll"
    await sock.request("send_message", {"room": room, "message": "from the socket"})
    got = await poll.event("receive_message", room=room, username=ben)
    assert got["message"] == "from the socket"
    await sock.emit("typing", {"room": room, "isTyping": True})
    assert (await poll.event("user_typing", room=room))["username"] == ben
    await sock.request("private_message", {"toUsername": ana, "message": "psst"})
    assert (await poll.event("private_message"))["message"] == "psst"


async def test_killed_under_a_long_poll_client_it_catches_up_losing_nothing(
    make_cluster, close_clients
):
    # ben talks faster than a person: raise his message budget.
    cluster = make_cluster(
        workers=2, CHAT_RATE_MESSAGES_PER_SECOND="100", CHAT_RATE_MESSAGES_BURST="200"
    )
    ana, ben = cluster.users("ana", "ben")
    room = f"kill-{cluster.name}"
    poll = await cluster.poll_client(ana, 0)
    sock = await cluster.client(ben, 1)
    close_clients.append(sock)
    joined = await poll.request("join_room", {"room": room})
    await sock.request("join_room", {"room": room})

    held: dict[int, int] = {}  # seq -> message id, as the client holds them
    doubled: list[int] = []

    def hold(message: dict) -> None:
        if message["seq"] in held:
            doubled.append(message["seq"])
        held[message["seq"]] = message["id"]

    def floor() -> int:
        seq = joined["seq"]
        while seq + 1 in held:
            seq += 1
        return seq

    async def listen(client) -> None:
        while True:
            message = await client.event("receive_message", timeout=30, room=room)
            hold(message)

    acked: list[int] = []
    twenty_sent = asyncio.Event()

    async def talk(n: int) -> None:
        for k in range(n):
            reply = await sock.request(
                "send_message", {"room": room, "message": f"m{k}"}
            )
            acked.append(reply["messageId"])
            if len(acked) == 20:
                twenty_sent.set()
            await asyncio.sleep(0.02)

    listening = asyncio.create_task(listen(poll))
    talking = asyncio.create_task(talk(60))
    await asyncio.wait(
        [asyncio.ensure_future(twenty_sent.wait()), talking],
        return_when=asyncio.FIRST_COMPLETED,
    )
    assert not talking.done(), talking
    cluster.workers[0].kill()  # SIGKILL, mid-stream
    assert await poll.closed(timeout=30) == 1006
    listening.cancel()

    # The client comes back on the other worker and resyncs from what it holds.
    again = await cluster.poll_client(ana, 1)
    close_clients.append(again)
    listening = asyncio.create_task(listen(again))
    resync = await again.request("join_room", {"room": room, "after": floor()})
    for message in resync["history"]:
        hold(message)
    await talking
    while set(acked) - set(held.values()):
        await asyncio.sleep(0.05)
        assert not listening.done()
    listening.cancel()
    assert not doubled, f"seqs held twice: {doubled}"
    assert sorted(held.values()) == sorted(acked)


@pytest.mark.skipif(NGINX is None, reason="no nginx (apt-get install nginx)")
async def test_through_nginx_a_browsers_polls_reach_the_worker_of_its_session(
    make_cluster, close_clients
):
    cluster = make_cluster(workers=2)
    nginx = Nginx(cluster.workers)
    try:
        await wait_for_health(nginx.url)
        ana, ben = cluster.users("ana", "ben")
        room = f"nginx-{cluster.name}"
        polls = [await cluster.poll_client(user, nginx.url) for user in (ana, ben)]
        close_clients.extend(polls)
        for poll in polls:
            await poll.request("join_room", {"room": room})
        # Without routing by session, about half of these would reach a worker
        # that does not know the session (410, 1012).
        for n in range(20):
            await polls[n % 2].request(
                "send_message", {"room": room, "message": f"{n}"}
            )
        for poll in polls:
            assert poll.is_open and poll.close_code is None
    finally:
        nginx.stop()


async def test_waiting_polls_hold_no_database_connection(make_cluster, close_clients):
    """Each HTTP request reads its session and user in a thread of its own; a GET
    that then waits (25 s) must not keep that thread's database connection open:
    200 waiting clients took PostgreSQL past max_connections."""
    import psycopg

    cluster = make_cluster(workers=1)
    database = cluster.env["DATABASE_URL"]

    def connections() -> int:
        with psycopg.connect(database) as db:
            query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
            return db.execute(query, [db.info.dbname]).fetchone()[0]

    names = cluster.users(*[f"p{n}" for n in range(12)])
    before = await asyncio.to_thread(connections)
    polls = [await cluster.poll_client(name, 0) for name in names]
    close_clients.extend(polls)
    await asyncio.sleep(1)  # every client has a GET waiting now
    during = await asyncio.to_thread(connections)
    assert during - before < 6, (before, during)
