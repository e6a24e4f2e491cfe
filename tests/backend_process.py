"""The process behind tests/servers.py's Backend: Django set up once, on the
database and settings its environment names, then each request run in a fork.

A request costs a fork (milliseconds) instead of a `manage.py shell` start (about
a second, several times in most browser tests), and still starts from nothing a
previous request left in memory (caches, connections), as a process of its own.

Protocol, one JSON object per line: stdin takes {"code": str, "data": any}; stdout
gives {"result": any} or {"error": str}. The code runs with `data` bound and may
set `result`; what it prints is kept only for the error.
"""

import json
import os
import sys
import tempfile
import traceback


def _run(code: str, data: object) -> dict:
    namespace = {"data": data, "result": None}
    exec(compile(code, "<backend request>", "exec"), namespace)
    json.dumps(namespace["result"])  # not JSON-able: an error here, not later
    return {"result": namespace["result"]}


def _child(request: dict, reply_fd: int) -> None:
    """In the fork: run the request, write the reply, never return."""
    from django.db import connections

    with tempfile.TemporaryFile() as output:
        os.dup2(output.fileno(), 1)
        os.dup2(output.fileno(), 2)
        try:
            reply = _run(request["code"], request["data"])
        except BaseException:
            sys.stdout.flush()
            output.seek(0)
            printed = output.read().decode(errors="replace")[-3000:]
            reply = {"error": f"{printed}\n{traceback.format_exc()}"}
        finally:
            connections.close_all()
    with os.fdopen(reply_fd, "w") as pipe:
        json.dump(reply, pipe)
    os._exit(0)


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
    django.setup()
    # What the requests use, imported once here rather than in every fork.
    import chat.domain.services
    import chat.models  # noqa: F401

    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(request, write_fd)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            reply = pipe.read()
        _, status = os.waitpid(pid, 0)
        if not reply:
            reply = json.dumps({"error": f"the request's process died ({status})"})
        replies.write(reply + "\n")  # JSON has no raw newline
        replies.flush()


if __name__ == "__main__":
    main()
