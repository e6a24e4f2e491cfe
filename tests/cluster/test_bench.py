"""The benchmark command works against a running instance (it is part of the
product): users signed up through the forms, every message delivered and counted."""

import json
import subprocess
import sys

from ..servers import ROOT


def test_bench_fanout_across_two_workers(make_cluster, tmp_path):
    """Clients spread over a daphne and a uvicorn worker: every room spans both,
    so every message crosses workers to reach one of its two members."""
    cluster = make_cluster(workers=1)
    cluster.add_worker(server="uvicorn")
    urls = ",".join(w.url for w in cluster.workers)
    pids = ",".join(str(w.proc.pid) for w in cluster.workers)
    report = tmp_path / "fanout.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "fanout",
            *("--url", urls, "--clients", "6", "--rooms", "3"),
            *("--rate", "12", "--duration", "2", "--procs", "2", "--json", str(report)),
            *("--server-pid", pids),
        ],
        cwd=ROOT,
        env={**cluster.env, "HOME": str(tmp_path)},  # its session cache
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(report.read_text())
    assert result["sent"] == result["acked"] > 0
    # Client i is in room i % 3 on worker i % 2: rooms of 2, one member on each
    # worker; every message reaches both, counted once.
    assert result["expected_deliveries"] == 2 * result["acked"]
    assert result["deliveries"] == result["expected_deliveries"]
    assert result["lost"] == 0 and result["duplicates"] == 0
    assert result["errors"] == {}
    assert result["latency_ms"]["p50"] > 0
    assert result["server_cpu_percent"] > 0
    assert "deliv/s" in run.stdout  # the table
