#!/usr/bin/env python3
"""grpcx gateway against hand-written Flask and FastAPI fronts and direct gRPC, in one command.

    python3 bench/gateway.py [--seconds 10] [--connections 64] [--only gateway,direct,fastapi,flask]

One upstream, `grpcx serve-demo` (tonic), and one method, `TypesService.Echo` with a small
message. Each front is loaded with wrk at CONNECTIONS concurrent HTTP/1.1 keep-alive
connections for SECONDS (after a warm-up of a quarter of that): `grpcx gateway` (its generic
route), a FastAPI app under one uvicorn worker and a Flask app under gunicorn with 5 workers
(bench/apps/, a generated stub and json_format both ways, as people write them). The limit is
the same call made directly over gRPC by a code-generated tonic client at the same concurrency
(examples/codegen_load.rs). Prints a Markdown table: requests a second, p50 and p99 latency,
the front's resident memory at the end (all its processes), and its CPU time per request. See
bench/README.md.

Needs wrk (Debian's `wrk`), Python 3 with venv and pip (the apps' packages are installed into
bench/.peers/web from bench/apps/requirements.txt), and a Rust toolchain.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

# The whole-process benchmark's helpers: finding the build, free ports, the demo server.
from run import free_port, say, start_server, stop_servers, target_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
APPS = os.path.join(BENCH, "apps")
PEERS = os.path.join(BENCH, ".peers")
VENV = os.path.join(PEERS, "web")
STUBS = os.path.join(PEERS, "web-stubs")

BODY = '{"fString":"hello","fInt64":"42","fBool":true}'
EXPECTED = {"fString": "hello", "fInt64": "42", "fBool": True}
GATEWAY_PATH = "/grpcx.demo.v1.TypesService/Echo"
APP_PATH = "/echo"
FLASK_WORKERS = 5  # gunicorn's advice for 2 cores: 2 * cores + 1
FRONTS = ["gateway", "direct", "fastapi", "flask"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def build():
    say("bench: building grpcx and the code-generated load client (release)")
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "--bin", "grpcx",
         "--example", "codegen_load"],
        cwd=ROOT, check=True,
    )
    release = os.path.join(target_dir(), "release")
    return os.path.join(release, "grpcx"), os.path.join(release, "examples", "codegen_load")


def python_apps():
    """The venv with the apps' packages, and the stubs generated from proto/types.proto."""
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        say("bench: creating bench/.peers/web")
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "-r", os.path.join(APPS, "requirements.txt")],
        check=True,
    )
    os.makedirs(STUBS, exist_ok=True)
    subprocess.run(
        [python, "-m", "grpc_tools.protoc", "-I", os.path.join(ROOT, "proto"),
         f"--python_out={STUBS}", f"--grpc_python_out={STUBS}",
         "types.proto", "google/rpc/status.proto"],
        check=True,
    )
    return python


def wait_for_http(port, path, process, what):
    """Waits until POST path answers EXPECTED; exits the script when it never does."""
    last = None
    for _ in range(150):  # about 30 s
        if process.poll() is not None:
            sys.exit(f"bench: {what} exited with {process.returncode}")
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", data=BODY.encode(),
                headers={"Content-Type": "application/json"}, method="POST",
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                answer = json.loads(response.read())
            if answer == EXPECTED:
                return
            sys.exit(f"bench: {what} answered {answer}, not {EXPECTED}")
        except OSError as error:
            last = error
        time.sleep(0.2)
    sys.exit(f"bench: {what} did not answer: {last}")


def tree(pid):
    """pid and every process below it."""
    pids = [pid]
    for each in pids:
        try:
            with open(f"/proc/{each}/task/{each}/children") as children:
                pids.extend(int(child) for child in children.read().split())
        except OSError:
            pass
    return pids


def cpu_seconds(pid):
    total = 0
    for each in tree(pid):
        try:
            with open(f"/proc/{each}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / CLOCK_TICKS


def rss_mib(pid):
    total = 0
    for each in tree(pid):
        try:
            with open(f"/proc/{each}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def wrk(port, path, seconds, connections, script):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
               "-s", script, f"http://127.0.0.1:{port}{path}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))

    def percentile(name):
        value, unit = re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rate": rate, "requests": requests, "p50": percentile("50"), "p99": percentile("99"),
        "bad": int(bad.group(1)) if bad else 0, "errors": errors.group(1) if errors else "",
    }


def measure_http(process, port, path, seconds, connections, script):
    """Warm-up, then the measured run, with the front's CPU time and memory."""
    wrk(port, path, max(1, seconds // 4), connections, script)
    before = cpu_seconds(process.pid)
    result = wrk(port, path, seconds, connections, script)
    result["cpu_us"] = (cpu_seconds(process.pid) - before) * 1e6 / max(1, result["requests"])
    result["rss"] = rss_mib(process.pid)
    return result


def start(command, env=None, cwd=None):
    return subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True,
    )


def row(name, result, fastapi_rate, direct_rate):
    if result is None:
        return f"| {name} | n/a | | | | | | |"
    vs_fastapi = f"{result['rate'] / fastapi_rate:.1f}×" if fastapi_rate else "—"
    vs_direct = f"{result['rate'] / direct_rate:.2f}" if direct_rate else "—"
    rss = f"{result['rss']:.0f} MiB" if "rss" in result else "—"
    cpu = f"{result['cpu_us']:.0f} µs" if "cpu_us" in result else "—"
    wrong = ""
    if result.get("bad") or result.get("errors"):
        wrong = f" (non-2xx: {result.get('bad', 0)}; socket errors: {result.get('errors') or 0})"
    return (f"| {name}{wrong} | {result['rate']:,.0f} | {result['p50']:.2f} ms | "
            f"{result['p99']:.2f} ms | {rss} | {cpu} | {vs_fastapi} | {vs_direct} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--only", default=",".join(FRONTS))
    args = parser.parse_args()
    only = [front.strip() for front in args.only.split(",")]
    if not shutil.which("wrk"):
        sys.exit("bench: needs wrk (Debian: apt-get install wrk)")
    grpcx, codegen_load = build()
    python = python_apps() if {"fastapi", "flask"} & set(only) else None

    processes = []
    results = {}
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write('wrk.method = "POST"\n'
                 f"wrk.body = '{BODY}'\n"
                 'wrk.headers["Content-Type"] = "application/json"\n')
    script.close()
    try:
        upstream = start_server(grpcx, os.environ.copy(), [], processes)

        if "direct" in only:
            say(f"bench: direct gRPC, {args.connections} concurrent calls, {args.seconds} s")
            run = subprocess.run([codegen_load, f"http://{upstream}", str(args.connections),
                                  str(max(1, args.seconds // 4))], capture_output=True, check=True)
            run = subprocess.run([codegen_load, f"http://{upstream}", str(args.connections),
                                  str(args.seconds)], capture_output=True, text=True, check=True)
            answer = json.loads(run.stdout)
            results["direct"] = {
                "rate": answer["calls"] / answer["seconds"],
                "p50": answer["p50_us"] / 1000, "p99": answer["p99_us"] / 1000,
            }

        if "gateway" in only:
            port = free_port()
            say(f"bench: grpcx gateway on {port}")
            gateway = start([grpcx, "--addr", upstream, "gateway",
                             "--listen", f"127.0.0.1:{port}"])
            processes.append(gateway)
            wait_for_http(port, GATEWAY_PATH, gateway, "grpcx gateway")
            results["gateway"] = measure_http(gateway, port, GATEWAY_PATH, args.seconds,
                                              args.connections, script.name)

        env = dict(os.environ, UPSTREAM=upstream, PYTHONPATH=f"{APPS}:{STUBS}")
        if "fastapi" in only:
            port = free_port()
            say(f"bench: FastAPI under one uvicorn worker on {port}")
            app = start([python, "-m", "uvicorn", "fastapi_app:app", "--host", "127.0.0.1",
                         "--port", str(port), "--workers", "1", "--no-access-log",
                         "--log-level", "warning"], env=env, cwd=APPS)
            processes.append(app)
            wait_for_http(port, APP_PATH, app, "the FastAPI app")
            results["fastapi"] = measure_http(app, port, APP_PATH, args.seconds,
                                              args.connections, script.name)

        if "flask" in only:
            port = free_port()
            say(f"bench: Flask under gunicorn, {FLASK_WORKERS} workers, on {port}")
            app = start([python, "-m", "gunicorn", "-w", str(FLASK_WORKERS), "-b",
                         f"127.0.0.1:{port}", "--log-level", "warning", "flask_app:app"],
                        env=env, cwd=APPS)
            processes.append(app)
            wait_for_http(port, APP_PATH, app, "the Flask app")
            results["flask"] = measure_http(app, port, APP_PATH, args.seconds,
                                            args.connections, script.name)
    finally:
        stop_servers(processes)
        os.unlink(script.name)

    fastapi_rate = results.get("fastapi", {}).get("rate")
    direct_rate = results.get("direct", {}).get("rate")
    names = {
        "gateway": "grpcx gateway",
        "direct": "direct gRPC (code-generated client, the limit)",
        "fastapi": "FastAPI, 1 uvicorn worker",
        "flask": f"Flask, gunicorn {FLASK_WORKERS} workers",
    }
    print(f"TypesService.Echo, {args.connections} connections, {args.seconds} s each, "
          f"{os.cpu_count()} cores shared by the load generator, the front and the upstream")
    print()
    print("| front | requests/s | p50 | p99 | front's memory | front's CPU per request "
          "| × FastAPI | × direct |")
    print("|---|---|---|---|---|---|---|---|")
    for front in FRONTS:
        if front in only:
            print(row(names[front], results.get(front), fastapi_rate, direct_rate))


if __name__ == "__main__":
    main()
