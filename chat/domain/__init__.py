"""The chat's domain: rules, writes (services), reads (selectors) and the events
they emit on commit. No asyncio, no frames, no transport: the WebSocket and
long-polling transports (chat.realtime), the pages (chat.web) and admin call it,
never the reverse (import-linter checks it: pyproject.toml)."""
