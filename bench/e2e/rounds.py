"""Interleaved measurement: on a shared machine the noise drifts over a
minute, so two figures measured one after the other compare two different
machines. Here every side is started once and the sides take turns in short
rounds (the order rotating each round, after one warm-up round each that is
not counted); a comparison is the median of the per-round ratios, with the
rounds' spread beside it.

Each turn also records the CPU time per request of the processes serving it
(/proc/PID/stat) and of the client (wrk or redis-benchmark, from the
children's rusage): unlike a rate, that barely moves when other work shares
the cores, so it shows what each side would cost on an idle machine."""

import os
import resource
import statistics
import time

ROUNDS = 12  # a multiple of 6, so with two or three sides each order is measured equally often
ROUND_SECONDS = 2
WARMUP_SECONDS = 2
SETTLE_SECONDS = 0.25  # between turns: the side just measured finishes its tail (relay, consumer) first


def cpu_seconds(pid):
    """utime + stime of one pid, or the sum over a list of pids (nginx's master and workers)."""
    if isinstance(pid, (list, tuple)):
        return sum(cpu_seconds(p) for p in pid)
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def interleave(sides):
    """sides: [(name, measure, pids)], measure(seconds) -> dict with at least
    "rps", "p99_ms" and "requests"; pids: {process name: pid or [pid]} of the
    servers that side's requests run on. Returns {"warmup": {name: result}, "rounds":
    [{name: result}]}, each result with "cpu_us_per_req": {process name or
    "client": us}."""
    def turn(measure, pids, length):
        time.sleep(SETTLE_SECONDS)
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        client = children_cpu_seconds()
        result = measure(length)
        n = max(1, result["requests"])
        cpu = {name: (cpu_seconds(pid) - before[name]) * 1e6 / n for name, pid in pids.items()}
        cpu["client"] = (children_cpu_seconds() - client) * 1e6 / n
        return dict(result, cpu_us_per_req={k: round(v, 1) for k, v in cpu.items()})

    result = {"warmup": {name: turn(measure, pids, WARMUP_SECONDS) for name, measure, pids in sides}, "rounds": []}
    for i in range(ROUNDS):
        order = sides[i % len(sides):] + sides[:i % len(sides)]
        result["rounds"].append({name: turn(measure, pids, ROUND_SECONDS) for name, measure, pids in order})
    return result


def compare(result, ours, base, field="rps"):
    """{"ours", "base": medians of `field`, "ratio": median per-round ratio, "spread": (min, max),
    "per_round": [ratio]} of one pair of sides."""
    pairs = [(r[ours][field], r[base][field]) for r in result["rounds"]]
    ratios = [o / b for o, b in pairs if o and b]
    return {"ours": statistics.median(o for o, _ in pairs), "base": statistics.median(b for _, b in pairs),
            "ratio": statistics.median(ratios) if ratios else None,
            "spread": (min(ratios), max(ratios)) if ratios else None, "per_round": ratios}


def markdown(result, names, ratios):
    """A table of every round: each side's rps and p99, then the named ratios.
    ratios: [(label, ours, base)]."""
    head = "| round | " + " | ".join(f"{n} req/s | {n} p99 ms" for n in names) + " | " + \
        " | ".join(label for label, _, _ in ratios) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(names) + len(ratios))]
    rows = [("warm-up (not counted)", result["warmup"])] + [(str(i + 1), r) for i, r in enumerate(result["rounds"])]
    for label, r in rows:
        cells = [f"{r[n]['rps']:,.0f} | {r[n]['p99_ms']:.2f}" for n in names]
        cells += [f"{r[o]['rps'] / r[b]['rps']:.2f}x" if r[b]['rps'] else "n/a" for _, o, b in ratios]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_medians(result, side):
    """{process name: median CPU us per request over the counted rounds} of one side."""
    names = result["rounds"][0][side]["cpu_us_per_req"].keys()
    return {n: statistics.median(r[side]["cpu_us_per_req"][n] for r in result["rounds"]) for n in names}


def cpu_markdown(result, sides):
    """One line per side: the median CPU time per request of each process."""
    lines = []
    for side in sides:
        cpu = cpu_medians(result, side)
        parts = [f"{name} {us:.0f}" for name, us in cpu.items()]
        lines.append(f"- {side}: " + " + ".join(parts) + f" = {sum(cpu.values()):.0f} us of CPU per request "
                     "(median over the rounds)")
    return "\n".join(lines)
