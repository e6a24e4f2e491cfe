"""Measure channels_redis' two layers for this app's traffic: group fan-out.

    .venv/bin/python bench/layer_fanout.py [--redis redis://127.0.0.1:6379/14]

For each layer and group size, one process holds `members` channels in one group
(as one worker holds the sockets of a room) and a sender group_sends messages:
  - latency: one message at a time, time until every member has it (p50 / p99);
  - throughput: `burst` messages back to back, deliveries per second until all
    members have all of them.
Redis is the only other party; run it on an otherwise idle machine.
"""

import argparse
import asyncio
import statistics
import time
import uuid

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer


async def measure(layer, members: int, singles: int, burst: int) -> dict[str, float]:
    group = f"bench{uuid.uuid4().hex[:8]}"
    channels = [await layer.new_channel() for _ in range(members)]
    for channel in channels:
        await layer.group_add(group, channel)
    expected = {"n": 0}
    done = asyncio.Event()

    async def drain(channel: str) -> None:
        while True:
            await layer.receive(channel)
            expected["n"] -= 1
            if expected["n"] == 0:
                done.set()

    tasks = [asyncio.create_task(drain(c)) for c in channels]
    await asyncio.sleep(0.2)
    latencies = []
    for i in range(singles):
        expected["n"] = members
        done.clear()
        start = time.perf_counter()
        await layer.group_send(group, {"type": "chat.event", "text": f"m{i}" * 20})
        await asyncio.wait_for(done.wait(), 10)
        latencies.append((time.perf_counter() - start) * 1000)
    expected["n"] = members * burst
    done.clear()
    start = time.perf_counter()
    for i in range(burst):
        await layer.group_send(group, {"type": "chat.event", "text": f"b{i}" * 20})
    await asyncio.wait_for(done.wait(), 60)
    elapsed = time.perf_counter() - start
    for task in tasks:
        task.cancel()
    for channel in channels:
        await layer.group_discard(group, channel)
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "rate": members * burst / elapsed,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--burst", type=int, default=500)
    args = parser.parse_args()
    host = {"address": args.redis, "socket_timeout": 10, "socket_connect_timeout": 2}
    layers = {
        "RedisChannelLayer": lambda: RedisChannelLayer(
            hosts=[host], prefix=f"bench{uuid.uuid4().hex[:6]}", capacity=100000
        ),
        "RedisPubSubChannelLayer": lambda: RedisPubSubChannelLayer(
            hosts=[host], prefix=f"bench{uuid.uuid4().hex[:6]}"
        ),
    }
    print("| layer | members | p50 ms | p99 ms | deliveries/s |")
    print("|---|---|---|---|---|")
    for name, make in layers.items():
        for members in (2, 20, 200):
            layer = make()
            result = await measure(layer, members, args.singles, args.burst)
            await layer.flush()
            print(
                f"| {name} | {members} | {result['p50']:.2f} | {result['p99']:.2f} "
                f"| {result['rate']:,.0f} |"
            )


if __name__ == "__main__":
    asyncio.run(main())
