#!/usr/bin/env bash
# A production-configured worker to benchmark, on this machine:
#
#   DATABASE_URL=postgres://... REDIS_URL=redis://... bash bench/serve.sh [PORT] [CORE]
#
# daphne through its launcher; CHAT_SERVER=uvicorn for the uvicorn worker.
# DEBUG off (DEBUG on records every SQL query), plain HTTP on 127.0.0.1 (the
# HTTPS redirect and secure-only cookies off, for the load generator), message
# rate limits raised so the benchmark measures the server rather than its limits,
# WARNING logs. Pinned to CPU core CORE (default 0) with taskset, so the load
# generator can have the other cores. Runs migrate and collectstatic first.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8800}
core=${2:-0}
: "${DATABASE_URL:?set DATABASE_URL (PostgreSQL: the figures are for it)}"
: "${REDIS_URL:?set REDIS_URL}"
export DEBUG=false
# One key for every benchmark worker on this machine, kept beside the load
# generator's cached sessions: they stay valid across restarts (each log-in costs the
# server a password hash) and on every worker of a multi-worker run.
key_file="$HOME/.cache/chat-bench/secret-key"
if [ -z "${SECRET_KEY:-}" ]; then
  if [ ! -s "$key_file" ]; then
    mkdir -p "$(dirname "$key_file")"
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(50))' > "$key_file")
  fi
  SECRET_KEY=$(cat "$key_file")
fi
export SECRET_KEY
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-127.0.0.1,localhost}"
export SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false
export SECURE_HSTS_SECONDS=0
export CHAT_RATE_MESSAGES_PER_SECOND="${CHAT_RATE_MESSAGES_PER_SECOND:-10000}"
export CHAT_RATE_MESSAGES_BURST="${CHAT_RATE_MESSAGES_BURST:-20000}"
export CHAT_RATE_REQUESTS_PER_SECOND="${CHAT_RATE_REQUESTS_PER_SECOND:-20000}"
export CHAT_RATE_REQUESTS_BURST="${CHAT_RATE_REQUESTS_BURST:-40000}"
export CHAT_MAX_SOCKETS_PER_USER="${CHAT_MAX_SOCKETS_PER_USER:-50}"
# Each run joins fresh rooms with the same users, from one address.
export CHAT_ROOMS_PER_HOUR="${CHAT_ROOMS_PER_HOUR:-100000}"
export CHAT_SIGNUPS_PER_HOUR="${CHAT_SIGNUPS_PER_HOUR:-100000}"
export LOG_LEVEL="${LOG_LEVEL:-WARNING}"
.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py collectstatic --noinput -v 0
echo "benchmark ${CHAT_SERVER:-daphne} worker on http://127.0.0.1:$port, core $core (pid $$)"
case "${CHAT_SERVER:-daphne}" in
daphne) exec taskset -c "$core" .venv/bin/python -m chatproject.server \
  -b 127.0.0.1 -p "$port" -v 0 ;;
uvicorn) exec taskset -c "$core" .venv/bin/python -m chatproject.uvicorn_server \
  --host 127.0.0.1 --port "$port" --log-level warning --no-access-log ;;
*) echo "CHAT_SERVER must be daphne or uvicorn" >&2; exit 2 ;;
esac
