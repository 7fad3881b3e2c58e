#!/usr/bin/env python3
"""What a buy could cost Redis at the least on this machine: the four things
a buy asks of Redis, each in its cheapest form, called by redis-benchmark on
a scratch redis-server at several pipeline depths, with Redis's CPU (INFO
cpu, used_cpu_sys + used_cpu_user) per buy from before and after each:

- admit13: one EVALSHA admitting 13 buyers on hash fields (HMGET of their
  locks, HSET of the new ones, HINCRBY of the stock, one XADD of their
  events), counted per buyer;
- pending, final: HSET of one request's state field;
- lookup: HGET of one.

Their sum at a depth is what a design whose every command of a buy rides in
batches that deep would pay Redis per buy; the redis-cpu phase's figure is
what the product pays end to end (bench/RESULTS.md, hand-kept section).

usage: python3 bench/e2e/redis_least_buy.py [depth ...]   (default: 1 4 16)
"""

import subprocess
import sys

import processes

CLIENTS = 50
CALLS = 200_000
BUYERS_PER_ADMIT = 13
ADMIT_SCRIPT = """
local users = {}
for i = 1, #ARGV do users[i] = ARGV[i] end
local held = redis.call('HMGET', KEYS[1], unpack(users))
local locks, events = {}, {}
for i = 1, #ARGV do
  if not held[i] then
    locks[#locks + 1] = ARGV[i]; locks[#locks + 1] = 'r'
    events[#events + 1] = 'event'; events[#events + 1] = ARGV[i]
  end
end
if #locks > 0 then
  redis.call('HSET', KEYS[1], unpack(locks))
  redis.call('HINCRBY', KEYS[2], 'remaining', -#locks / 2)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', '1000', '*', unpack(events))
end
return #locks
"""


def cpu(port):
    """(sys + user, sys) seconds of INFO cpu."""
    fields = dict(line.split(":", 1) for line in processes.redis_cli(port, "INFO", "cpu").splitlines() if ":" in line)
    return float(fields["used_cpu_sys"]) + float(fields["used_cpu_user"]), float(fields["used_cpu_sys"])


def measure(port, depth, per_call, args):
    """INFO cpu µs (and the kernel's share) per buy of CALLS calls of `args`."""
    total0, sys0 = cpu(port)
    subprocess.run(["redis-benchmark", "-p", str(port), "-c", str(CLIENTS), "-P", str(depth), "-n", str(CALLS),
                    "-r", "100000000", "-q"] + args, check=True, capture_output=True)
    total1, sys1 = cpu(port)
    buys = CALLS * per_call
    return (total1 - total0) * 1e6 / buys, (sys1 - sys0) * 1e6 / buys


def main(depths):
    redis, addr = processes.start_redis()
    port = int(addr.split(":")[1])
    try:
        sha = processes.redis_cli(port, "SCRIPT", "LOAD", ADMIT_SCRIPT)
        processes.redis_cli(port, "HSET", "least:stock", "remaining", 10**12)
        buyers = ["u__rand_int__"] * BUYERS_PER_ADMIT
        parts = [
            ("admit13", BUYERS_PER_ADMIT, ["EVALSHA", sha, "3", "least:locks", "least:stock", "least:events"] + buyers),
            ("pending", 1, ["HSET", "least:states", "r__rand_int__", "pending|0|"]),
            ("final", 1, ["HSET", "least:states", "r__rand_int__", "success|123|"]),
            ("lookup", 1, ["HGET", "least:states", "r__rand_int__"]),
        ]
        print(f"redis-benchmark -c {CLIENTS} -n {CALLS} -r 100000000 -P <depth>, INFO cpu µs per buy (kernel)")
        for depth in depths:
            figures = [(name, *measure(port, depth, per_call, args)) for name, per_call, args in parts]
            shown = ", ".join(f"{name} {total:.2f} ({kernel:.2f})" for name, total, kernel in figures)
            print(f"-P {depth}: {shown}; sum {sum(total for _, total, _ in figures):.1f} µs per buy")
    finally:
        redis.stop()


if __name__ == "__main__":
    main([int(d) for d in sys.argv[1:]] or [1, 4, 16])
