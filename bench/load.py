#!/usr/bin/env python3
"""`grpcx bench` against the code-generated tonic client, and its open loop and memory.

    python3 bench/load.py [--seconds 10] [--runs 3] [--memory]

Builds grpcx and examples/codegen_load.rs in release, starts the reference server (`grpcx
serve-demo`, release) on a free loopback port, then:

- closed loop: unary TypesService.Echo from 64 workers over 2 connections, for --seconds,
  by `grpcx bench -c 64 --connections 2` and by codegen_load (the client build.rs generates,
  64 loops, 2 connections), alternating, --runs times each; the median calls per second of
  each, grpcx's share of the code-generated client's, and grpcx's own CPU time per call;
- open loop: `grpcx bench --rps R` at a third of the closed loop's rate for --seconds (an open
  loop spends more per call than a closed one: a task per call, on the same two cores as the
  server): the rate made over the run against the asked one, and the worst whole second;
- with --memory: grpcx's peak RSS for 100,000 calls and for 10,000,000 calls (closed loop, 64
  workers; the long run takes several minutes).

Prints a Markdown table. Python 3 standard library only; Linux.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gateway import build  # noqa: E402  (grpcx and examples/codegen_load, release)
from run import say, start_server, stop_servers  # noqa: E402

BODY = '{"fString":"hello","fInt64":"42","fBool":true}'
METHOD = "grpcx.demo.v1.TypesService/Echo"
WORKERS = 64
CONNECTIONS = 2


def bench(grpcx, addr, env, *args):
    """grpcx bench's JSON report."""
    out = subprocess.run(
        [grpcx, "--addr", addr, "bench", METHOD, BODY, "-o", "json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )
    if out.returncode not in (0, 7):
        sys.exit(f"load: grpcx bench failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout)


def codegen(codegen_load, addr, seconds):
    out = subprocess.run(
        [codegen_load, f"http://{addr}", str(WORKERS), str(seconds), str(CONNECTIONS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["calls"] / result["seconds"]


def peak_rss_mib(command, env):
    """The peak RSS of `command`, in MiB: GNU time's, else this process's children's."""
    time_binary = shutil.which("time") if os.path.exists("/usr/bin/time") else None
    if time_binary:
        out = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *command],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True,
        )
        return int(out.stderr.strip().splitlines()[-1]) / 1024
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    options = parser.parse_args()

    grpcx, codegen_load = build()
    env = dict(os.environ)
    env.pop("GRPCX_ADDR", None)
    servers = []
    try:
        addr = start_server(grpcx, env, [], servers)
        seconds = options.seconds
        say(f"load: closed loop, {WORKERS} workers, {CONNECTIONS} connections, {seconds} s a run")
        ours, theirs, cpu = [], [], []
        for run in range(options.runs):
            report = bench(grpcx, addr, env, "-c", str(WORKERS), "--connections",
                           str(CONNECTIONS), "-z", f"{seconds}s", "--warmup", "1s")
            ours.append(report["rps"])
            if report["generator"].get("cpu_seconds") and report["count"]:
                cpu.append(report["generator"]["cpu_seconds"]
                           / (report["count"] + report["warmup_calls"]) * 1e6)
            theirs.append(codegen(codegen_load, addr, seconds))
            say(f"load: run {run + 1}: grpcx bench {ours[-1]:.0f}/s, codegen {theirs[-1]:.0f}/s")
        ours_rate, their_rate = statistics.median(ours), statistics.median(theirs)

        rate = int(ours_rate / 3 // 100 * 100) or 100
        say(f"load: open loop at {rate} calls/s for {seconds} s")
        open_report = bench(grpcx, addr, env, "--rps", str(rate), "-z", f"{seconds}s",
                            "--connections", str(CONNECTIONS), "--warmup", "1s")
        made = open_report["count"] / open_report["duration_s"]
        whole = [i for i in open_report["intervals"] if i["second"] < int(open_report["duration_s"])]
        worst = max((abs(i["count"] - rate) / rate for i in whole), default=0.0)

        rows = [
            ("closed loop: grpcx bench", f"{ours_rate:,.0f} calls/s"),
            ("closed loop: code-generated tonic client", f"{their_rate:,.0f} calls/s"),
            ("grpcx's share of the code-generated client's rate", f"{ours_rate / their_rate:.0%}"),
            ("grpcx's CPU time per call", f"{statistics.median(cpu):.1f} µs" if cpu else "n/a"),
            (f"open loop: asked {rate}/s, made over the run",
             f"{made:,.1f}/s ({(made - rate) / rate:+.2%})"),
            ("open loop: the worst whole second", f"{worst:.2%} off the asked rate"),
            ("open loop: p99 corrected / uncorrected",
             f"{open_report['latency']['p99_us'] / 1000:.2f} ms / "
             f"{open_report['service_time']['p99_us'] / 1000:.2f} ms"),
            ("open loop: generator held the rate", str(open_report["generator"]["held"])),
        ]
        if options.memory:
            for calls in (100_000, 10_000_000):
                say(f"load: peak RSS of {calls:,} calls")
                rss = peak_rss_mib(
                    [grpcx, "--addr", addr, "bench", METHOD, BODY, "-c", str(WORKERS),
                     "--connections", str(CONNECTIONS), "-n", str(calls), "-o", "json"],
                    env,
                )
                rows.append((f"peak RSS, {calls:,} calls", f"{rss:.1f} MiB"))

        print(f"\n{WORKERS} workers, {CONNECTIONS} connections, {seconds} s runs, "
              f"median of {options.runs}; unary TypesService.Echo against grpcx serve-demo\n")
        print("| measure | value |")
        print("|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
    finally:
        stop_servers(servers)


if __name__ == "__main__":
    main()
