"""Presence and read receipts across workers: who is idle, in do-not-disturb or
last seen when, and who read what, whichever worker each client is on (Redis
and PostgreSQL between them)."""

import asyncio

from .client import Client


async def presence_until(client: Client, **lists: list[str]) -> dict:
    """The first presence_update (those kept, then new ones) with these lists."""
    return await client.event("presence_update", **lists)


async def test_idle_and_receipts_cross_workers(make_cluster, close_clients):
    cluster = make_cluster(workers=2)
    alice, bob = cluster.users("alice", "bob")
    everyone = sorted([alice, bob])
    # Alice on worker 0 over a WebSocket, Bob on worker 1 over long-polling.
    a = await cluster.client(alice, 0)
    b = await cluster.poll_client(bob, 1)
    close_clients.extend([a, b])
    room = f"lobby-{cluster.name}"
    await a.request("join_room", {"room": room})
    await b.request("join_room", {"room": room})
    await presence_until(b, online=everyone, idle=[], dnd=[])

    # Alice's page is hidden on worker 0: Bob, on worker 1, sees her idle.
    await a.request("set_presence", {"status": "idle"})
    await presence_until(b, online=everyone, idle=[alice])
    members = await b.request("list_members", {"room": room})
    status = {m["username"]: m["status"] for m in members["members"]}
    assert status == {alice: "idle", bob: "active"}
    # A background job on neither worker asks who is active.
    active = cluster.backend.run(
        "from chat.infra import presence\n"
        "result = sorted(presence.active_usernames(data['names']))\n",
        names=everyone,
    )
    assert active == [bob]
    await a.request("set_presence", {"status": "active"})
    await presence_until(b, online=everyone, idle=[])

    # Bob writes to Alice from worker 1; she reads it on worker 0; Bob sees it.
    sent = await b.request("private_message", {"toUsername": alice, "message": "hi"})
    dm = sent["room"]
    await a.event("private_message", id=sent["messageId"])
    await a.request("mark_read", {"room": dm, "messageId": sent["messageId"]})
    receipt = await b.event("read_receipt", room=dm)
    assert receipt == {"room": dm, "username": alice, "messageId": sent["messageId"]}
    assert (await b.request("join_room", {"room": dm}))["receipts"] == {
        alice: sent["messageId"]
    }

    # Alice leaves: offline for Bob, with when she was last seen.
    await a.close()
    await presence_until(b, online=[bob])
    for _ in range(50):  # her worker records it as her session ends
        members = await b.request("list_members", {"room": room})
        row = next(m for m in members["members"] if m["username"] == alice)
        if row["lastSeen"] is not None:
            break
        await asyncio.sleep(0.1)
    assert (row["online"], row["status"]) == (False, "offline")
    assert row["lastSeen"] is not None
