"""The load benchmark: `python -m bench SCENARIO --url URL [options]`.

Scenarios (docs/BENCHMARKS.md has the figures and how they were taken):

  fanout   C clients in R rooms, every client sending, at a total rate of M
           messages/s for D seconds. Reports offered and delivered messages per
           second, delivery latency (send -> each member's receive) p50/p95/p99/max,
           ack latency, lost and duplicated deliveries, errors by code.
  ramp     fanout at rising rates; the highest with p99 under --p99-ms and
           nothing lost.
           With --mix replies=0.1,reactions=0.2,mentions=0.1 (chat peer), that
           share of the sends are thread replies to a recent top-level message of
           the room, reactions toggled on a recent message, and messages that
           @mention another member of the room; every frame received is a
           delivery, and latency is reported per kind (bench/load.py).
  connect  N sockets opened and joined: time until all joined, and the server's
           memory per socket (with --server-pid, for a server on this machine).
  abuse    one user floods a worker with history reads from --flood-sockets
           sockets: another member's ack latency, quiet and under the flood
           (bench/abuse.py).
  outage   Redis restarted again and again under two workers of its own: is a
           room subscription ever lost? (`python -m bench outage --help`)
  soak     a steady load for many minutes with churning sockets and slow readers:
           the workers' memory and fds over time, lost and doubled messages
           (`python -m bench soak --help`)
  richtext how long rendering a message's Markdown takes, ordinary and hostile
           inputs, no server (`python -m bench richtext --help`)
  jobs     the background jobs' costs on the configured database: enqueueing a
           notification with its message, jobs/s of one db_worker, pick-up wait
           (`python -m bench jobs --help`)

--peer chat (default) drives this chat: users bench-0... are signed up once and
logged in through the real forms (sessions are cached in ~/.cache/chat-bench).
--peer chat-poll drives this chat over its long-polling transport (the same users).
--peer socketio drives the Socket.io tutorial's server (bench/peers/socketio).
Every loop is bounded in time; the load runs in --procs processes, whose own CPU
use is reported so a saturated generator is visible.
"""

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import secrets
import sys
import time
from pathlib import Path

from . import load
from .mix import parse_mix

PEERS = {
    "chat": "bench.chat_client",
    "chat-poll": "bench.chat_poll_client",
    "socketio": "bench.peers.socketio_client",
}


def main(argv: list[str]) -> int:
    # Scenarios with options of their own.
    if argv[:1] in (["outage"], ["soak"], ["richtext"], ["jobs"]):
        scenario = __import__(f"bench.{argv[0]}", fromlist=["main"])
        return scenario.main(argv[1:])
    args = parse(argv)
    if args.mix is not None and args.peer != "chat":
        raise SystemExit("--mix drives the chat peer only")
    peer = __import__(PEERS[args.peer], fromlist=["prepare_identities"])
    if args.scenario == "abuse":
        from . import abuse

        url = args.url.split(",")[0]
        result = abuse.main(url, args.duration, args.flood_sockets, args.interval)
    elif args.scenario == "connect":
        result = connect(args, peer)
    elif args.scenario == "ramp":
        result = ramp(args, peer)
    else:
        result = fanout(args, peer, args.rate)
        print_table([result])
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", choices=["fanout", "ramp", "connect", "abuse"])
    parser.add_argument(
        "--url",
        default="http://127.0.0.1:8000",
        help="base URL; several, comma-separated, spread the clients over workers",
    )
    parser.add_argument("--peer", choices=sorted(PEERS), default="chat")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument(
        "--rate", type=float, default=250, help="messages/s, all clients together"
    )
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--drain", type=float, default=2, help="s to wait at the end")
    parser.add_argument("--procs", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--sockets-per-user", type=int, default=1)
    parser.add_argument("--rates", help="ramp: comma-separated messages/s")
    parser.add_argument("--p99-ms", type=float, default=100)
    parser.add_argument(
        "--mix",
        type=_mix_arg,
        help="fanout, ramp: shares of the sends that are thread replies and"
        " reactions, e.g. replies=0.1,reactions=0.2 (the rest plain messages)",
    )
    parser.add_argument("--flood-sockets", type=int, default=20, help="abuse")
    parser.add_argument(
        "--interval", type=float, default=0.05, help="abuse: s between sends"
    )
    parser.add_argument(
        "--server-pid",
        type=lambda v: [int(p) for p in v.split(",")],
        help="server process ids, comma-separated: their CPU use (fanout, ramp)"
        " and memory (connect) are reported",
    )
    parser.add_argument("--json", help="also write the results to this file")
    return parser.parse_args(argv)


def _mix_arg(text: str) -> dict[str, float]:
    try:
        return parse_mix(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# --- Scenarios ---------------------------------------------------------------------


def fanout(args: argparse.Namespace, peer, rate: float) -> dict:
    run_id = secrets.token_hex(3)
    clients = plan_clients(args, peer, run_id)
    pipes, procs, progress = start_procs(args, clients)
    try:
        ready = wait_ready(pipes, timeout=120 + len(clients) / 20)
        start = time.time() + 1.0
        per_client = rate / len(clients)
        for pipe in pipes:
            pipe.send(("start", start, per_client, args.duration, args.drain))
        time.sleep(max(0.0, start - time.time()))
        cpu_before = cpu_seconds(args.server_pid)
        show_progress(progress, start, args.duration + args.drain, rate, clients)
        cpu_after = cpu_seconds(args.server_pid)
        results = [
            receive(pipe, "result", timeout=args.duration + 60) for pipe in pipes
        ]
    finally:
        stop_procs(procs)
    summary = summarize(args, rate, clients, results, ready)
    if cpu_before is not None and cpu_after is not None:
        # Over sending and the drain, as the load processes' own CPU.
        busy = cpu_after - cpu_before
        summary["server_cpu_percent"] = round(
            100 * busy / (args.duration + args.drain), 1
        )
    return summary


def ramp(args: argparse.Namespace, peer) -> dict:
    rates = [float(r) for r in (args.rates or "250,500,1000,2000,3000").split(",")]
    rows = []
    best = None
    for rate in rates:
        row = fanout(args, peer, rate)
        rows.append(row)
        print_table([row])
        ok = row["lost"] == 0 and row["latency_ms"]["p99"] < args.p99_ms
        if ok:
            best = row
        elif best is not None:
            break  # past the knee
    print(f"\n== {args.peer}: ramp (p99 < {args.p99_ms:.0f} ms, nothing lost)")
    print_table(rows)
    if best:
        print(
            f"highest ok: {best['offered_msgs_per_s']:,.0f} messages/s ="
            f" {best['deliveries_per_s']:,.0f} deliveries/s"
            f" (p99 {best['latency_ms']['p99']:.1f} ms)"
        )
    else:
        print("no rate met the bound")
    return {"rows": rows, "best": best}


def connect(args: argparse.Namespace, peer) -> dict:
    rss_before = rss_kib(args.server_pid)
    run_id = secrets.token_hex(3)
    clients = plan_clients(args, peer, run_id)
    started = time.monotonic()
    pipes, procs, _ = start_procs(args, clients)
    try:
        ready = wait_ready(pipes, timeout=120 + len(clients) / 20)
        joined_in = time.monotonic() - started
        time.sleep(2)  # let the server settle before reading its memory
        rss_after = rss_kib(args.server_pid)
        for pipe in pipes:
            pipe.send(("stop",))
    finally:
        stop_procs(procs)
    result = {
        "peer": args.peer,
        "sockets": len(clients),
        "seconds_to_all_joined": round(joined_in, 2),
        "slowest_process_connect_s": round(max(r["connect_seconds"] for r in ready), 2),
    }
    if rss_before is not None and rss_after is not None:
        result["server_rss_mib"] = [
            round(rss_before / 1024, 1),
            round(rss_after / 1024, 1),
        ]
        result["server_kib_per_socket"] = round(
            (rss_after - rss_before) / len(clients), 1
        )
    print(json.dumps(result, indent=2))
    return result


# --- Processes ----------------------------------------------------------------------


def plan_clients(args: argparse.Namespace, peer, run_id: str) -> list[tuple]:
    """(index, identity, room) for every client: client i in room i % rooms."""
    users = math.ceil(args.clients / args.sockets_per_user)
    base_url = args.url.split(",")[0]  # the workers share one database
    print(f"preparing {users} identities on {base_url} ...", flush=True)
    identities = peer.prepare_identities(base_url, users, run_id)
    return [
        (i, identities[i % users], f"bench-{run_id}-{i % args.rooms}")
        for i in range(args.clients)
    ]


def start_procs(args: argparse.Namespace, clients: list[tuple]):
    procs_n = max(1, min(args.procs, len(clients)))
    context = multiprocessing.get_context("spawn")
    progress = context.Array("q", 2 * procs_n, lock=False)
    pipes, procs = [], []
    for p in range(procs_n):
        slice_ = load.Slice(
            PEERS[args.peer],
            args.url.split(","),
            clients[p::procs_n],
            mix=getattr(args, "mix", None),
        )
        parent_end, child_end = context.Pipe()
        proc = context.Process(target=load.run, args=(slice_, child_end, progress, p))
        proc.start()
        pipes.append(parent_end)
        procs.append(proc)
    print(f"{len(clients)} clients in {procs_n} load processes", flush=True)
    return pipes, procs, progress


def wait_ready(pipes, timeout: float) -> list[dict]:
    return [receive(pipe, "ready", timeout) for pipe in pipes]


def receive(pipe, kind: str, timeout: float) -> dict:
    if not pipe.poll(timeout):
        raise SystemExit(f"a load process sent no '{kind}' within {timeout:.0f} s")
    message = pipe.recv()
    if message[0] != kind:
        raise SystemExit(f"a load process failed: {message[1]}")
    return message[1]


def stop_procs(procs) -> None:
    for proc in procs:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


def show_progress(progress, start: float, seconds: float, rate: float, clients) -> None:
    last = (0, 0)
    while (now := time.time()) < start + seconds:
        time.sleep(1.0)
        sent = sum(progress[0::2])
        delivered = sum(progress[1::2])
        elapsed = max(0.0, time.time() - start)
        print(
            f"  {elapsed:5.1f} s  sent {sent:>9,}  delivered {delivered:>10,}"
            f"  (+{delivered - last[1]:,}/s)",
            flush=True,
        )
        last = (sent, delivered)
    del now


# --- Results ----------------------------------------------------------------------


def summarize(
    args, rate: float, clients: list[tuple], results: list[dict], ready
) -> dict:
    room_of = {index: room for index, _, room in clients}
    room_size: dict[str, int] = {}
    for room in room_of.values():
        room_size[room] = room_size.get(room, 0) + 1
    received: dict[str, int] = {}
    for result in results:
        for key, count in result["received"].items():
            received[key] = received.get(key, 0) + count
    expected = lost = 0
    for result in results:
        for key in result["acked_keys"]:
            members = room_size[room_of[int(key.split(":", 1)[0])]]
            expected += members
            lost += max(0, members - received.get(key, 0))
    latencies = sorted(
        v
        for r in results
        for values in (r["latencies_us"], *r["kind_latencies_us"].values())
        for v in values
    )
    acks = sorted(v for r in results for v in r["ack_latencies_us"])
    errors: dict[str, int] = {}
    for result in results:
        for code, count in result["errors"].items():
            errors[code] = errors.get(code, 0) + count
    deliveries = sum(r["deliveries"] for r in results)
    sent = sum(r["sent"] for r in results)
    return {
        "peer": args.peer,
        "url": args.url,
        "clients": len(clients),
        "rooms": args.rooms,
        "duration_s": args.duration,
        "offered_msgs_per_s": rate,
        "sent": sent,
        "acked": sum(r["acked"] for r in results),
        "sent_msgs_per_s": round(sent / args.duration, 1),
        "deliveries": deliveries,
        "deliveries_per_s": round(deliveries / args.duration, 1),
        "expected_deliveries": expected,
        "lost": lost,
        "duplicates": sum(r["duplicates"] for r in results),
        "latency_ms": percentiles(latencies),
        "ack_latency_ms": percentiles(acks),
        "errors": errors,
        "load_cpu_percent": [
            round(100 * r["cpu_seconds"] / (args.duration + args.drain), 1)
            for r in results
        ],
        "connect_seconds": round(max(r["connect_seconds"] for r in ready), 2),
    } | (mix_summary(args, results) if getattr(args, "mix", None) else {})


def mix_summary(args, results: list[dict]) -> dict:
    """A mixed run's figures by kind: sends, deliveries (frames by event), latency
    (send to receive, where the sender is known) and ack latency."""

    def total(name: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in results:
            for key, count in r[name].items():
                counts[key] = counts.get(key, 0) + count
        return counts

    def by_kind(name: str, plain: str | None) -> dict[str, dict]:
        values: dict[str, list[int]] = {}
        for r in results:
            if plain:
                values.setdefault("message", []).extend(r[plain])
            for kind, samples in r[name].items():
                values.setdefault(kind, []).extend(samples)
        return {
            kind: {"samples": len(v), **percentiles(sorted(v))}
            for kind, v in values.items()
        }

    return {
        "mix": args.mix,
        "sent_by_kind": total("sent_by_kind"),
        "acked_by_kind": total("acked_by_kind"),
        "deliveries_by_event": total("frames"),
        "latency_by_kind_ms": by_kind("kind_latencies_us", "latencies_us"),
        "ack_latency_by_kind_ms": by_kind("kind_ack_latencies_us", "ack_latencies_us"),
    }


def percentiles(values_us: list[int]) -> dict[str, float]:
    if not values_us:
        return {"p50": math.nan, "p95": math.nan, "p99": math.nan, "max": math.nan}

    def at(q: float) -> float:
        return values_us[min(len(values_us) - 1, int(q * len(values_us)))] / 1000

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": values_us[-1] / 1000,
    }


def print_table(rows: list[dict]) -> None:
    print(
        f"{'peer':<9}{'offered/s':>10}{'sent/s':>9}{'deliv/s':>10}"
        f"{'p50 ms':>8}{'p95':>8}{'p99':>8}{'max':>8}{'ack p99':>9}"
        f"{'lost':>7}{'dup':>5}  errors  load CPU %  server CPU %"
    )
    for r in rows:
        lat, ack = r["latency_ms"], r["ack_latency_ms"]
        print(
            f"{r['peer']:<9}{r['offered_msgs_per_s']:>10,.0f}{r['sent_msgs_per_s']:>9,.0f}"
            f"{r['deliveries_per_s']:>10,.0f}{lat['p50']:>8.1f}{lat['p95']:>8.1f}"
            f"{lat['p99']:>8.1f}{lat['max']:>8.1f}{ack['p99']:>9.1f}"
            f"{r['lost']:>7}{r['duplicates']:>5}  {r['errors'] or '-'}"
            f"  {r['load_cpu_percent']}  {r.get('server_cpu_percent', '-')}"
        )
        if "mix" in r:
            print_mix(r)


def print_mix(r: dict) -> None:
    """Under a mixed run's row: sends and deliveries by kind, latency by kind."""
    duration = r["duration_s"]
    sent = ", ".join(f"{k} {v:,}" for k, v in sorted(r["sent_by_kind"].items()))
    frames = ", ".join(
        f"{k} {v / duration:,.0f}/s"
        for k, v in sorted(r["deliveries_by_event"].items())
    )
    print(f"    sent: {sent}\n    delivered: {frames}")
    for name, table in (
        ("latency", r["latency_by_kind_ms"]),
        ("ack", r["ack_latency_by_kind_ms"]),
    ):
        for kind, p in sorted(table.items()):
            print(
                f"    {name} {kind:<17}p50 {p['p50']:7.1f}  p99 {p['p99']:7.1f}"
                f"  max {p['max']:7.1f} ms  ({p['samples']:,} samples)"
            )


def rss_kib(pids: list[int] | None) -> int | None:
    """Resident memory of the servers `pids` and their children (on this machine)."""

    def rss(status: str) -> int:
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1])

    return _sum_over_processes(pids, "status", rss)


def cpu_seconds(pids: list[int] | None) -> float | None:
    """CPU time used so far by the servers `pids` and their children."""

    def ticks(stat: str) -> int:
        fields = stat.rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime

    total = _sum_over_processes(pids, "stat", ticks)
    return None if total is None else total / os.sysconf("SC_CLK_TCK")


def _sum_over_processes(pids: list[int] | None, name: str, value) -> int | None:
    """The sum of `value(/proc/<pid>/<name>)` over `pids` and their children."""
    if pids is None:
        return None
    total = 0
    for p in _with_children(pids):
        with contextlib.suppress(FileNotFoundError, StopIteration):  # gone, a zombie
            total += value(Path(f"/proc/{p}/{name}").read_text())
    return total


def _with_children(pids: list[int]) -> list[int]:
    return [q for p in pids for q in (p, *_children(p))]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(c) for c in text.split()]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
