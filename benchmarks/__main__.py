"""Run the benchmark sections and write BENCHMARKS.md: ``python -m benchmarks [name ...]``.

With names (``retrieval_cost``), only those sections run; the file still gets the machine header.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import sys
import time
from pathlib import Path

from benchmarks import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "BENCHMARKS.md"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def header() -> str:
    """Where and when the figures were taken."""
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "Written by `make bench` (`python -m benchmarks`); do not edit by hand.",
            "",
            f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- machine: {os.cpu_count()} cores ({_cpu()}), {_memory()} memory",
            f"- python {platform.python_version()} on {platform.system()} {platform.release()}",
            f"- load average at start: {_load()} (other work on the machine skews latencies)",
            "",
        ]
    )


def main(argv: list[str]) -> int:
    wanted = [name if "." in name else f"benchmarks.{name}" for name in argv]
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        print(f"unknown sections {unknown}; known: {SECTIONS}", file=sys.stderr)
        return 2
    parts = [header()]
    for name in SECTIONS:
        if wanted and name not in wanted:
            continue
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        section = importlib.import_module(name).run()
        elapsed = time.perf_counter() - started
        print(f"  done in {elapsed:.1f} s", file=sys.stderr, flush=True)
        parts.append(f"{section.rstrip()}\n\n_Section took {elapsed:.0f} s._\n")
    OUTPUT.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
