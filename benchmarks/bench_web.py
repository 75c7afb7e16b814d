"""The web app under load and under hostile uploads, on the loopback interface only.

* load: ``exomir serve`` (uvicorn, one process) with a locked model; 20 client threads with
  keep-alive connections request knowledge-base pages and API views in a fixed rotation; bounded
  by 5,000 requests and 60 s, whichever comes first. Reports requests/s, p50/p95/p99 latency and
  the status codes; the first (cache-filling) request of each address is timed apart.
* bombs: a chunked upload with no Content-Length (up to 400 MiB offered), a declared 400 MiB body,
  a gzip upload inflating to 48 MiB, a table with CR-only line ends, a table of 8,000 samples. Each
  must get 413; the bytes the client got to send before the answer (socket buffers included), the
  peak size of the server's temporary files (where form parts are spooled, unlinked files held
  open included) and its CPU seconds are recorded.
* memory: the server's resident set (VmRSS) after start, after the load and after the bombs, and
  its peak (VmHWM).

Run: ``python benchmarks/bench_web.py [--requests N] [--seconds S]``. Talks to 127.0.0.1 only.
Writes ``benchmarks/results/web.json``.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import platform
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "web.json"
HOST = "127.0.0.1"
CLIENTS = 20
MAX_REQUESTS = 5_000
MAX_SECONDS = 60.0
PAGES = ["/", "/search?q=miR-21", "/search?hallmark=angiogenesis", "/search?q=PTEN", "/mirna/miR-21",
         "/mirna/miR-122", "/mirna/hsa-miR-210-3p", "/mirna/miR-10a-5p", "/network", "/reports",
         "/api/mirnas", "/api/mirna/miR-21", "/api/mirna/MIMAT0000076", "/api/search?q=TIM-3",
         "/api/search?hallmark=angiogenesis", "/api/conflicts", "/api/network", "/api/health"]  # fmt: skip
BOUNDARY = "exomirbench"


# ---- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def train_model(folder: Path) -> tuple[Path, Path]:
    """A small locked model and a table of 40 new samples to score."""
    from exomir.model import LockedModel, save_model, train_model
    from exomir.progress import set_quiet
    from exomir.simulate import _effects as fx
    from exomir.simulate import simulate_cohort, write_cohort

    set_quiet(True)
    n = len(fx.FIXED_CPM)
    model = LockedModel(train_model(simulate_cohort(120, n_mirnas=n, seed=5), seed=0, inner_folds=3, outer_folds=3,
                                    max_features=(4,), Cs=(1.0,)))  # fmt: skip
    paths = write_cohort(simulate_cohort(40, n_mirnas=n, seed=6), f"{folder}/new/")
    return save_model(model, folder / "model.json"), Path(paths["expression"])


def start_server(model: Path, port: int, spool: Path) -> subprocess.Popen:
    code = ("import uvicorn; from pathlib import Path; from exomir.web import WebSettings, create_app; "
            f"uvicorn.run(create_app(WebSettings(models=(Path({str(model)!r}),))), host={HOST!r}, port={port}, "
            "log_level='error')")  # fmt: skip
    env = {**os.environ, "TMPDIR": str(spool)}  # form parts spool here: its size is watched
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the web server did not start")


def proc_status(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # MiB
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    fields["cpu_s"] = (int(stat[11]) + int(stat[12])) / ticks
    return fields


class SpoolWatch:
    """The largest total size of the server's temporary files while a bomb runs: files in its
    temporary folder and the unnamed (already unlinked) ones it holds open there."""

    def __init__(self, folder: Path, pid: int) -> None:
        self.folder, self.pid, self.peak, self._stop = folder, pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _size(self) -> int:
        total = 0
        for root, _, files in os.walk(self.folder):
            for f in files:
                try:
                    total += os.path.getsize(os.path.join(root, f))
                except OSError:
                    pass
        fds = Path(f"/proc/{self.pid}/fd")
        for fd in fds.iterdir() if fds.exists() else ():
            try:
                if os.readlink(fd).startswith(str(self.folder)) and os.readlink(fd).endswith("(deleted)"):
                    total += os.stat(fd).st_size
            except OSError:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._size())
            time.sleep(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# ---- load --------------------------------------------------------------------------------------


def warm(port: int) -> dict[str, float]:
    """Each address once: the cost of computing a view the first time."""
    out = {}
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    for path in PAGES:
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        out[path] = round((time.perf_counter() - start) * 1000, 1)
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}")
    conn.close()
    return out


def load(port: int, total: int, seconds: float) -> dict:
    latencies: list[float] = []
    by_path: dict[str, list[float]] = {p: [] for p in PAGES}
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    issued = iter(range(total))
    stop_at = time.perf_counter() + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        while time.perf_counter() < stop_at:
            with lock:
                i = next(issued, None)
            if i is None:
                break
            path = PAGES[(i + k) % len(PAGES)]
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                by_path[path].append(elapsed * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {"clients": CLIENTS, "requests": len(latencies), "seconds": round(wall, 2),
            "requests_per_s": round(len(latencies) / wall, 1), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "max_ms": round(float(ms.max()), 1), "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "by_path": {p: {"n": len(v), "p50_ms": round(float(np.percentile(v, 50)), 1),
                            "p99_ms": round(float(np.percentile(v, 99)), 1)} for p, v in by_path.items() if v}}  # fmt: skip


# ---- bombs -------------------------------------------------------------------------------------


def multipart(name: str, filename: str, data: bytes) -> bytes:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()  # fmt: skip
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def read_status(sock: socket.socket) -> tuple[int, str]:
    data = b""
    sock.settimeout(30)
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    try:
        detail = json.loads(body).get("detail", "")
    except ValueError:
        detail = body[:200].decode("latin-1")
    return status, detail


def chunked_bomb(port: int, offered: int = 400 * 1024 * 1024) -> dict:
    """Send an endless chunked body; stop when the server answers (or stops reading)."""
    sock = socket.create_connection((HOST, port))
    sock.sendall((f"POST /api/score HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n"
                  f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n").encode())  # fmt: skip
    piece = b"1," * 32768
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    preamble = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"expression\"; filename=\"big.csv\"\r\n"
                "Content-Type: text/csv\r\n\r\n").encode()  # fmt: skip
    sock.sendall(f"{len(preamble):x}\r\n".encode() + preamble + b"\r\n")  # a well-formed start: the parser reads on
    sent = len(preamble)
    sock.setblocking(False)
    answered = False
    start = time.perf_counter()
    while sent < offered:
        readable, writable, _ = select.select([sock], [sock], [], 5)
        if readable:
            answered = True
            break
        if not writable:
            break  # the server stopped reading and has not answered within 5 s
        try:
            sent += sock.send(frame)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            answered = True
            break
    sock.setblocking(True)
    try:
        status, detail = read_status(sock)
    except OSError as exc:
        status, detail = 0, str(exc)
    sock.close()
    return {"offered_bytes": offered, "client_sent_bytes": sent, "answered_while_sending": answered,
            "status": status, "detail": detail, "seconds": round(time.perf_counter() - start, 2)}  # fmt: skip


def post(port: int, body: bytes, headers: dict) -> tuple[int, str, float]:
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    start = time.perf_counter()
    try:
        conn.request("POST", "/api/score", body=body, headers=headers)
        response = conn.getresponse()
        text = response.read()
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return 0, str(exc), time.perf_counter() - start
    finally:
        conn.close()
    try:
        detail = json.loads(text).get("detail", "")
    except ValueError:
        detail = text[:200].decode("latin-1")
    return status, detail, time.perf_counter() - start


def declared_bomb(port: int) -> dict:
    sock = socket.create_connection((HOST, port))
    sock.sendall((f"POST /api/score HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {400 * 1024 * 1024}\r\n"
                  f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n").encode())  # fmt: skip
    start = time.perf_counter()
    status, detail = read_status(sock)  # answered before a byte of the body is sent
    sock.close()
    return {"declared_bytes": 400 * 1024 * 1024, "client_sent_bytes": 0, "status": status, "detail": detail,
            "seconds": round(time.perf_counter() - start, 3)}  # fmt: skip


def upload_bomb(port: int, filename: str, data: bytes, **facts) -> dict:
    body = multipart("expression", filename, data)
    status, detail, seconds = post(port, body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    return {"upload_bytes": len(data), **facts, "status": status, "detail": detail, "seconds": round(seconds, 2)}


def bombs(port: int, pid: int, spool: Path, table: Path) -> dict:
    import pandas as pd

    out = {}
    base = pd.read_csv(table, index_col=0)
    gz_text = b"hsa-miR-21-5p,1,2,3,4,5,6,7,8,9\n" * (48 * 1024 * 1024 // 32)
    cr_only = ("mirna," + ",".join(base.columns) + "\r").encode() + b"".join(
        (f"hsa-miR-bench-{i}," + ",".join(["7"] * base.shape[1]) + "\r").encode() for i in range(30_000))
    wide = pd.concat([base.add_suffix(f"_{i}") for i in range(200)], axis=1)  # 8,000 samples
    cases = {
        "chunked_no_length": lambda: chunked_bomb(port),
        "declared_400MiB": lambda: declared_bomb(port),
        "gzip_48MiB": lambda: upload_bomb(port, "bomb.csv.gz", gzip.compress(gz_text, 9), inflated_bytes=len(gz_text)),
        "cr_only_30000_lines": lambda: upload_bomb(port, "mac.csv", cr_only, lines=30_001),
        "samples_8000": lambda: upload_bomb(port, "wide.csv", wide.to_csv().encode(), samples=wide.shape[1]),
    }
    for name, run in cases.items():
        before = proc_status(pid)
        with SpoolWatch(spool, pid) as watch:
            result = run()
            time.sleep(0.3)
        after = proc_status(pid)
        result.update(server_cpu_s=round(after["cpu_s"] - before["cpu_s"], 2), spool_peak_bytes=watch.peak,
                      rss_after_mib=round(after["VmRSS"], 1))  # fmt: skip
        out[name] = result
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=MAX_REQUESTS)
    parser.add_argument("--seconds", type=float, default=MAX_SECONDS)
    args = parser.parse_args()
    requests = min(args.requests, MAX_REQUESTS)
    seconds = min(args.seconds, MAX_SECONDS)
    with tempfile.TemporaryDirectory(prefix="exomir-bench-web-") as folder:
        root = Path(folder)
        spool = root / "spool"
        spool.mkdir()
        model, table = train_model(root)
        port = free_port()
        server = start_server(model, port, spool)
        try:
            started = proc_status(server.pid)
            first = warm(port)
            result = load(port, requests, seconds)
            after_load = proc_status(server.pid)
            hostile = bombs(port, server.pid, spool, table)
            final = proc_status(server.pid)
            alive = warm(port)["/api/health"]  # still serving after the bombs
        finally:
            server.terminate()
            server.wait(timeout=30)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "limits": {"max_requests": MAX_REQUESTS, "max_seconds": MAX_SECONDS, "clients": CLIENTS, "host": HOST},
        "first_request_ms": first,
        "load": result,
        "bombs": hostile,
        "server_memory_mib": {"rss_started": round(started["VmRSS"], 1), "rss_after_load": round(after_load["VmRSS"], 1),
                              "rss_after_bombs": round(final["VmRSS"], 1), "peak_rss": round(final["VmHWM"], 1)},
        "health_after_bombs_ms": alive,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    load_row = report["load"]
    print(f"load: {load_row['requests']} requests by {CLIENTS} clients in {load_row['seconds']} s = "
          f"{load_row['requests_per_s']} req/s; p50 {load_row['p50_ms']} ms, p95 {load_row['p95_ms']} ms, "
          f"p99 {load_row['p99_ms']} ms, max {load_row['max_ms']} ms; statuses {load_row['statuses']}")
    print(f"{'bomb':<22} {'status':>6} {'client sent':>12} {'spool peak':>11} {'CPU s':>6} {'RSS MiB':>8}  detail")
    for name, row in hostile.items():
        print(f"{name:<22} {row['status']:>6} {row.get('client_sent_bytes', row.get('upload_bytes', 0)):>12,} "
              f"{row['spool_peak_bytes']:>11,} {row['server_cpu_s']:>6} "
              f"{row['rss_after_mib']:>8}  {row['detail'][:60]}")
    mem = report["server_memory_mib"]
    print(f"server RSS: {mem['rss_started']} MiB at start, {mem['rss_after_load']} after the load, "
          f"{mem['rss_after_bombs']} after the bombs, peak {mem['peak_rss']} MiB")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
