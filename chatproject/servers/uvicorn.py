"""uvicorn, as the daphne launcher runs daphne: `python -m chatproject.servers.uvicorn
[uvicorn options]` (or its alias, `python -m chatproject.uvicorn_server`), e.g.
`--host 127.0.0.1 --port 8001`.

Before uvicorn starts, chatproject.servers.startup checks every fast path against
the installed packages, logs which are on, and tunes the garbage collector.

The application is always chatproject.asgi:application; these defaults come before
the given options, so any of them may be overridden:

- uvloop, httptools, and the sans-I/O websockets protocol (the fast combination);
- proxy headers (X-Forwarded-For, X-Forwarded-Proto) trusted from 127.0.0.1 only;
- no ASGI lifespan (channels' router has no handler for it);
- no permessage-deflate (daphne does not compress either; it costs CPU per frame and
  memory per socket);
- pings every 20 s, closed without a pong in 30 s (daphne's defaults);
- frames over 2 x CHAT_MAX_FRAME_BYTES refused by uvicorn itself (1009), so the app
  still closes anything over CHAT_MAX_FRAME_BYTES with its own 1009 but nothing huge
  is buffered first;
- SIGTERM or SIGINT: uvicorn stops listening, closes every WebSocket with 1012 and
  gives the app `websocket.disconnect` (code 1012), then waits for connections and
  their consumers to finish for up to --timeout-graceful-shutdown (default
  CHAT_SHUTDOWN_GRACE or 10) seconds before cancelling them. A second SIGINT stops
  at once. The process then exits with status 0.
"""

import math
import os
import signal
import sys

import uvicorn

from chatproject.servers import startup

APPLICATION = "chatproject.asgi:application"


def exit_cleanly(signum: int, frame: object) -> None:
    # uvicorn handles SIGTERM itself while it serves, then raises it again with the
    # previous handler restored: without this one the process would die of the
    # signal (status -15) after a clean drain. Before serving, it stops at once.
    sys.exit(0)


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
    from django.conf import settings  # the .env file too, as the app reads it

    grace = os.environ.get("CHAT_SHUTDOWN_GRACE", "10")
    defaults = [
        *("--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio"),
        *("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"),
        *("--lifespan", "off", "--ws-per-message-deflate", "false"),
        *("--ws-ping-interval", "20", "--ws-ping-timeout", "30"),
        *("--ws-max-size", str(2 * settings.CHAT_MAX_FRAME_BYTES)),
        *("--timeout-graceful-shutdown", str(math.ceil(float(grace)))),
    ]
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
    startup.prepare("uvicorn")
    signal.signal(signal.SIGTERM, exit_cleanly)
    uvicorn.main.main([APPLICATION, *defaults, *argv], prog_name=__spec__.name)


if __name__ == "__main__":
    main(sys.argv[1:])
