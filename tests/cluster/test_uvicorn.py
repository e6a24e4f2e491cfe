"""uvicorn workers (python -m chatproject.uvicorn_server) beside daphne ones: the
same protocol across both, and the same graceful stop."""


async def test_messages_cross_between_uvicorn_and_daphne(make_cluster, close_clients):
    cluster = make_cluster(workers=1)  # w0: daphne
    cluster.add_worker(server="uvicorn")  # w1
    ana, ben = cluster.users("ana", "ben")
    on_daphne = await cluster.client(ana, 0)
    on_uvicorn = await cluster.client(ben, 1)
    close_clients.extend([on_daphne, on_uvicorn])

    room = f"mixed-{cluster.name}"
    await on_daphne.request("join_room", {"room": room})
    joined = await on_uvicorn.request("join_room", {"room": room})
    assert joined["users"] == sorted([ana, ben])

    for sender, receiver, body in (
        (on_uvicorn, on_daphne, "from uvicorn"),
        (on_daphne, on_uvicorn, "from daphne"),
    ):
        sent = await sender.request("send_message", {"room": room, "message": body})
        got = await receiver.event("receive_message", id=sent["messageId"])
        assert (got["message"], got["username"]) == (body, sender.username)

    dm = await on_uvicorn.request(
        "private_message", {"toUsername": ana, "message": "psst"}
    )
    got = await on_daphne.event("private_message", id=dm["messageId"])
    assert (got["from"], got["message"]) == (ben, "psst")


async def test_sigterm_to_uvicorn_closes_sockets_with_1012_and_exits(
    make_cluster, close_clients
):
    cluster = make_cluster(workers=1)
    cluster.add_worker(server="uvicorn")
    ana, ben = cluster.users("ana", "ben")
    a1 = await cluster.client(ana, 1)
    b1 = await cluster.client(ben, 1)
    b0 = await cluster.client(ben, 0)
    close_clients.extend([a1, b1, b0])
    for client in (a1, b1, b0):
        await client.event("presence_update")

    # Exit status 0, not death by the signal uvicorn raises again once drained.
    stopped_in = await cluster.sigterm(1, [a1, b1])
    print(f"SIGTERM: uvicorn exited after {stopped_in:.2f} s")
    assert stopped_in < 5  # the grace period given to the workers
    log = cluster.workers[1].log_path.read_text()
    assert "Shutting down" in log and "Finished server process" in log
    assert "Cancel" not in log  # nothing was left for the grace period to cut

    # The client comes back at once on the daphne worker; ben never went offline.
    again = await cluster.client(ana, 0)
    close_clients.append(again)
    online = (await again.event("presence_update"))["online"]
    assert set(online) == {ana, ben}
    assert b0.is_open
