#!/usr/bin/env bash
# The production topology on one machine, without systemd: migrate and collectstatic
# once, then N daphne workers on 127.0.0.1:PORT..PORT+N-1 (the launcher the systemd
# units use), each named host:port. Ctrl-C or SIGTERM drains them gracefully (they
# close their WebSockets with 1012); a second Ctrl-C stops them at once.
#
#   DATABASE_URL=postgres://... REDIS_URL=redis://... bash deploy/run-local.sh [N] [PORT]
#
# N defaults to 2, PORT to 8001. The rest of the environment is the app's own
# (deploy/chat.env.example): DEBUG=false also needs SECRET_KEY and ALLOWED_HOSTS.
# Put nginx in front with deploy/nginx/chat.conf (docs/DEPLOY.md). Worker pids are
# written to $CHAT_RUN_DIR (default ${TMPDIR:-/tmp}/chat-run-local), one file a port.
set -euo pipefail
cd "$(dirname "$0")/.."

workers=${1:-2}
base_port=${2:-8001}
python=.venv/bin/python
run_dir=${CHAT_RUN_DIR:-${TMPDIR:-/tmp}/chat-run-local}

: "${DATABASE_URL:?set DATABASE_URL (postgres://user:pass@host:5432/db): the workers share one database}"
: "${REDIS_URL:?set REDIS_URL (redis://host:6379/0): without it each worker has its own channel layer}"
if [[ ! -x $python ]]; then
    echo "no $python: python3 -m venv .venv && .venv/bin/pip install -r requirements.txt" >&2
    exit 1
fi

"$python" manage.py migrate --noinput
"$python" manage.py collectstatic --noinput -v 0

mkdir -p "$run_dir"
pids=()
ports=()
stopping=0

stop_workers() {
    if ((stopping)); then
        echo "run-local: stopping now" >&2
    else
        echo "run-local: draining the workers (Ctrl-C again to stop at once)" >&2
    fi
    stopping=1
    local pid
    for pid in "${pids[@]}"; do
        if [[ -n $pid ]]; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
}
trap stop_workers TERM INT

# Job control gives each worker a process group of its own, so a Ctrl-C in the
# terminal reaches this script only, which passes one SIGTERM on. (Without it the
# terminal would signal the workers too: two signals mean "stop at once".)
set -m
for ((i = 0; i < workers; i++)); do
    port=$((base_port + i))
    # Each output line starts with the port, since the log format has no worker name.
    CHAT_WORKER_NAME="$HOSTNAME:$port" "$python" -m chatproject.server \
        --port "$port" --bind 127.0.0.1 --proxy-headers \
        > >(trap '' INT TERM; exec sed -u "s/^/$port| /") 2>&1 &
    pids+=($!)
    ports+=("$port")
    echo $! > "$run_dir/$port.pid"
done
set +m
echo "run-local: workers on ports ${ports[*]} (pids ${pids[*]}); Ctrl-C drains them" >&2

# Wait until every worker has exited (`wait` returns early when a signal is
# trapped). One worker stopped by hand (kill -TERM $(cat $run_dir/PORT.pid)) leaves
# the others running, as on a server.
status=0
while true; do
    alive=0
    for index in "${!pids[@]}"; do
        pid=${pids[$index]}
        if [[ -z $pid ]]; then
            continue
        fi
        if kill -0 "$pid" 2>/dev/null; then
            alive=$((alive + 1))
            continue
        fi
        code=0
        wait "$pid" || code=$?
        if ((stopping)); then
            echo "run-local: worker on port ${ports[$index]} exited with $code" >&2
        else
            # Killed by hand, say, to see the others take over: keep them running.
            echo "run-local: worker on port ${ports[$index]} exited with $code;" \
                "the others keep running" >&2
            status=1
        fi
        rm -f "$run_dir/${ports[$index]}.pid"
        pids[index]=""
    done
    if ((alive == 0)); then
        break
    fi
    wait -n 2>/dev/null || true
done
exit "$status"
