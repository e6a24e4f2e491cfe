"""daphne, with a graceful stop: `python -m chatproject.servers.daphne [daphne
options]` (or its alias, `python -m chatproject.server`).

On SIGTERM (or SIGINT) stock daphne cancels every application at once: clients see
no close frame (1006) and consumers never get `websocket.disconnect` (daphne #177).
This launcher instead

1. stops listening, so the load balancer sends new connections elsewhere;
2. closes every WebSocket with 1012 (service restart): clients reconnect at once,
   to another worker, and resync; consumers run their normal disconnect;
3. waits for open connections and requests to finish, up to --grace-period
   seconds (default CHAT_SHUTDOWN_GRACE or 10), then stops daphne.

A second signal stops at once.

A frame over daphne's size limit (2 x CHAT_MAX_FRAME_BYTES here, as with uvicorn;
daphne's own default is 1 MiB) is answered with a close frame 1009, as the app
answers anything over CHAT_MAX_FRAME_BYTES: autobahn would otherwise drop the TCP
connection without one, and the client could not tell it from a network fault
(1006) and would send the frame again.

Before daphne starts, chatproject.servers.startup installs daphne's patches
(daphne_close_codes, daphne_liveness), checks every fast path against the installed
packages and logs which are on, and tunes the garbage collector.

Every other option is daphne's own (the size limits may be given too); the
application is always chatproject.asgi:application.
"""

import argparse
import logging
import os
import signal
import sys
import time

from daphne.cli import CommandLineInterface
from daphne.server import Server

from chat.realtime.protocol import CLOSE_SERVICE_RESTART
from chatproject.servers import startup

APPLICATION = "chatproject.asgi:application"

logger = logging.getLogger("chatproject.server")


class GracefulServer(Server):
    grace_period = 10.0

    def run(self) -> None:
        from twisted.internet import reactor

        self.ports = []
        self.draining_since: float | None = None
        # Twisted's own handlers would stop the reactor straight away.
        self.signal_handlers = False
        reactor.callWhenRunning(self.install_signal_handlers)
        # super().run() makes the factory and then runs the reactor; this runs
        # before the reactor serves anything, and each socket reads its factory's
        # options when it opens.
        reactor.callWhenRunning(self.close_oversized_frames)
        super().run()

    def close_oversized_frames(self) -> None:
        # autobahn "fails" a socket on a frame over the size limit (and on a
        # protocol error) by dropping the TCP connection, unless failByDrop is off:
        # then it sends the close frame (1009 for size) and waits for the reply.
        self.ws_factory.setProtocolOptions(failByDrop=False)

    def install_signal_handlers(self) -> None:
        from twisted.internet import reactor

        loop = reactor._asyncioEventloop  # daphne runs Twisted on asyncio
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.begin_drain, signum.name)

    def listen_success(self, port) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def begin_drain(self, signal_name: str) -> None:
        if self.draining_since is not None:
            logger.warning("%s again: stopping now", signal_name)
            self.stop()
            return
        self.draining_since = time.monotonic()
        sockets = [p for p in self.connections if hasattr(p, "serverClose")]
        logger.warning(
            "%s: stop listening, close %d sockets with 1012, wait up to %.0f s",
            signal_name,
            len(sockets),
            self.grace_period,
        )
        for port in self.ports:
            port.stopListening()
        for protocol in sockets:
            protocol.serverClose(code=CLOSE_SERVICE_RESTART)
        self.wait_for_drain()

    def wait_for_drain(self) -> None:
        from twisted.internet import reactor

        elapsed = time.monotonic() - self.draining_since
        if not self.connections:
            logger.warning("drained in %.2f s", elapsed)
            self.stop()
        elif elapsed >= self.grace_period:
            logger.warning(
                "grace period over with %d connections open", len(self.connections)
            )
            self.stop()
        else:
            reactor.callLater(0.05, self.wait_for_drain)


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
    ours = argparse.ArgumentParser(add_help=False)
    ours.add_argument(
        "--grace-period",
        type=float,
        default=float(os.environ.get("CHAT_SHUTDOWN_GRACE", "10")),
    )
    options, daphne_args = ours.parse_known_args(argv)
    from django.conf import settings  # the .env file too, as the app reads it

    # Nothing huge is buffered before the app sees it; the app still closes
    # anything over CHAT_MAX_FRAME_BYTES itself (and logs it). Given options win.
    server_limit = str(2 * settings.CHAT_MAX_FRAME_BYTES)
    defaults = [
        *("--websocket-max-message-size", server_limit),
        *("--websocket-max-frame-size", server_limit),
    ]
    if any(a in ("-h", "--help") for a in daphne_args):
        print(__doc__)
    startup.prepare("daphne")
    GracefulServer.grace_period = options.grace_period
    cli = CommandLineInterface()
    cli.server_class = GracefulServer
    cli.run([*defaults, *daphne_args, APPLICATION])


if __name__ == "__main__":
    main(sys.argv[1:])
