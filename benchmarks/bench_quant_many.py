"""Many samples in bounded memory: ``exomir quantify`` on 100 plasma-like samples of 5 M reads.

    EXOMIR_SHARED_DATA=../shared/data .venv/bin/python benchmarks/bench_quant_many.py generate --dir /big/disk/many
    EXOMIR_SHARED_DATA=../shared/data .venv/bin/python benchmarks/bench_quant_many.py run --dir /big/disk/many \
        [--kill-after 60]

``generate`` writes the libraries with the project's simulator (the plasma-like library of
``bench_quant.py``: 27 % miRNA reads, 70 % non-miRNA), one seed per sample (seed 1000 + i), each
streamed to disk in batches; a file appears under its final name only when it is complete, so an
interrupted generation resumes too. 100 × 5 M reads take about 9 GB. ``link`` fills the
missing sample names with links to the libraries made so far (sample i reads library i mod K).

``run`` runs ``exomir quantify`` on all of them under ``/usr/bin/time -v`` (peak RSS, CPU, wall
clock). With ``--kill-after K`` the first attempt is killed with SIGKILL once K samples are saved
and a second attempt resumes it; both attempts' figures are recorded. The figures are merged into
``benchmarks/results/quant.json`` under ``many_samples`` (the other keys are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EXOMIR_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "benchmarks" / "results" / "quant.json"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _name(i: int) -> str:
    return f"plasma{i:03d}"


def generate(folder: Path, samples: int, reads: int) -> None:
    from bench_quant import LIBRARIES

    from exomir.quant import load_reference
    from exomir.quant.simulate import simulate_library

    folder.mkdir(parents=True, exist_ok=True)
    ref = load_reference(str(DATA / "mirbase_v22"))
    for i in range(samples):
        final = folder / f"{_name(i)}.fastq.gz"
        if final.exists():
            continue
        partial = folder / f".{_name(i)}.partial.fastq.gz"
        t0 = time.perf_counter()
        simulate_library(partial, ref, reads=reads, seed=1000 + i, **LIBRARIES["plasma"])
        partial.rename(final)
        print(f"{final.name}: {time.perf_counter() - t0:.0f} s", flush=True)


def link(folder: Path, samples: int) -> None:
    """Fill the missing sample names with links to the libraries generated so far (sample i reads
    library i mod K): for a machine too busy to simulate every sample."""
    made = sorted(p for p in folder.glob("plasma*.fastq.gz") if not p.is_symlink())
    for i in range(samples):
        target = folder / f"{_name(i)}.fastq.gz"
        if not target.exists():
            target.symlink_to(made[i % len(made)].name)
    print(f"{samples} sample names over {len(made)} distinct libraries")


def _time_v(stderr: str) -> dict:
    """Figures of /usr/bin/time -v."""
    fields = {"Maximum resident set size (kbytes)": "peak_rss_kb", "User time (seconds)": "user_s",
              "System time (seconds)": "system_s", "Elapsed (wall clock) time (h:mm:ss or m:ss)": "wall",
              "Exit status": "exit_status"}
    out = {}
    for line in stderr.splitlines():
        key, _, value = line.strip().rpartition(": ")
        if key in fields:
            out[fields[key]] = value.strip()
    if "peak_rss_kb" in out:
        out["peak_rss_gb"] = round(int(out["peak_rss_kb"]) / 1024 ** 2, 3)
    return out


def _attempt(cmd: list[str], state: Path, kill_after: int | None) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-v", *cmd], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    killed = False
    if kill_after is not None:
        while proc.poll() is None:
            if state.exists() and len(list(state.glob("*.json.gz"))) >= kill_after:
                # exomir itself (the child of time, which then reports the killed run's figures)
                children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout
                for pid in children.split():
                    os.kill(int(pid), signal.SIGKILL)
                killed = True
                break
            time.sleep(2)
    _, err = proc.communicate()
    figures = _time_v(err)
    figures.update(killed=killed, seconds=round(time.perf_counter() - t0, 1),
                   samples_saved=len(list(state.glob("*.json.gz"))) if state.exists() else 0)
    if not killed and proc.returncode != 0:
        figures["stderr_tail"] = err[-2000:]
    return figures


def run(folder: Path, out: Path, kill_after: int | None, threads: int) -> dict:
    files = sorted(folder.glob("plasma*.fastq.gz"))
    exomir = Path(sys.executable).with_name("exomir")
    cmd = [str(exomir), "quantify", *map(str, files), "--out", str(out), "--mirbase", str(DATA / "mirbase_v22"),
           "--threads", str(threads), "--no-rna-types"]
    attempts = []
    if kill_after is not None:
        attempts.append(_attempt(cmd, out / ".samples", kill_after))
        print(f"attempt 1 (killed after {kill_after} samples): {attempts[-1]}", flush=True)
    attempts.append(_attempt(cmd, out / ".samples", None))
    print(f"attempt {len(attempts)}: {attempts[-1]}", flush=True)
    distinct = len({f.resolve() for f in files})
    return {"samples": len(files), "distinct_libraries": distinct, "attempts": attempts,
            "peak_rss_gb_max": max(a.get("peak_rss_gb", 0) for a in attempts), "threads": threads,
            "note": "plasma-like libraries of bench_quant.py (seed 1000 + i); when fewer were generated than "
                    "samples, sample i reads library i mod K (distinct_libraries); --no-rna-types; the first "
                    "attempt is killed with SIGKILL and the second resumes it"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("generate", "link", "run"))
    parser.add_argument("--dir", type=Path, required=True, help="folder of the simulated FASTQ files")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--reads", type=int, default=5_000_000)
    parser.add_argument("--kill-after", type=int, default=None)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=None, help="quantify output (default: DIR/out)")
    args = parser.parse_args()
    if args.step == "generate":
        generate(args.dir, args.samples, args.reads)
        return
    if args.step == "link":
        link(args.dir, args.samples)
        return
    figures = run(args.dir, args.out or args.dir / "out", args.kill_after, args.threads)
    figures["reads_per_sample"] = args.reads
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["many_samples"] = figures
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    for i, a in enumerate(figures["attempts"], start=1):
        print(f"attempt {i}: peak RSS {a.get('peak_rss_gb')} GB, wall {a.get('wall')}, user {a.get('user_s')} s, "
              f"system {a.get('system_s')} s, samples saved {a['samples_saved']}, killed {a['killed']}")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
