"""What the transports share beneath them and above the domain: the event loop's
one seam to the database (worker), the channel layer's health, token-bucket rate
limits, presence, metrics and the log context. `fast/` holds the measured
internals (direct frame writes, the fan-out layer, batching, the kept Redis
connection), which nothing in the domain or the protocol handlers imports."""
