"""The worker launchers (daphne, uvicorn) and what only they should do: patch the
server, check the fast paths against the installed packages, tune the collector.
chatproject.asgi only builds the application."""
