"""The benchmark command works against a running instance (it is part of the
product): users signed up through the forms, every message delivered and counted."""

import json
import subprocess
import sys

from ..servers import ROOT


def test_bench_fanout_against_a_worker(make_cluster, tmp_path):
    cluster = make_cluster(workers=1)
    report = tmp_path / "fanout.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "fanout",
            *("--url", cluster.workers[0].url, "--clients", "6", "--rooms", "2"),
            *("--rate", "12", "--duration", "2", "--procs", "2", "--json", str(report)),
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
    # Rooms of 3: every message reaches its 3 members, counted once.
    assert result["expected_deliveries"] == 3 * result["acked"]
    assert result["deliveries"] == result["expected_deliveries"]
    assert result["lost"] == 0 and result["duplicates"] == 0
    assert result["errors"] == {}
    assert result["latency_ms"]["p50"] > 0
    assert "deliv/s" in run.stdout  # the table
