"""Measured internals: each was added for a figure in docs/BENCHMARKS.md and
leans on private attributes of daphne, autobahn, uvicorn or channels_redis."""
