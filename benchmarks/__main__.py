"""Run the benchmark sections and write BENCHMARKS.md: ``python -m benchmarks [name ...]``.

With names (``retrieval_cost``), only those sections run and replace their own part of the
file (each section sits between ``<!-- section NAME -->`` markers); the others stay as they
were, each with the date it was measured.
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
            f"- load average when written: {_load()} (other work on the machine skews "
            "latencies; each section gives its own)",
            "",
        ]
    )


def _marker(name: str) -> str:
    return f"<!-- section {name} -->"


def sections_of(text: str) -> dict[str, str]:
    """The sections of a BENCHMARKS.md by module name, each as written (markers excluded)."""
    found: dict[str, str] = {}
    for name in SECTIONS:
        start = text.find(_marker(name))
        if start < 0:
            continue
        start += len(_marker(name))
        end = text.find("<!-- section ", start)
        found[name] = text[start : end if end >= 0 else len(text)].strip("\n")
    return found


def compose(fresh: dict[str, str], kept: dict[str, str]) -> str:
    """The file: the header, then every section in ``SECTIONS`` order, fresh over kept."""
    parts = [header()]
    for name in SECTIONS:
        body = fresh.get(name, kept.get(name))
        if body is not None:
            parts.append(f"{_marker(name)}\n{body.rstrip()}\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    wanted = [name if "." in name else f"benchmarks.{name}" for name in argv]
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        print(f"unknown sections {unknown}; known: {SECTIONS}", file=sys.stderr)
        return 2
    fresh: dict[str, str] = {}
    for name in SECTIONS:
        if wanted and name not in wanted:
            continue
        started, load = time.perf_counter(), _load()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        section = importlib.import_module(name).run()
        elapsed = time.perf_counter() - started
        print(f"  done in {elapsed:.1f} s", file=sys.stderr, flush=True)
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        fresh[name] = (
            f"{section.rstrip()}\n\n_Section took {elapsed:.0f} s; measured {when}, "
            f"load average before it {load}._\n"
        )
    kept = sections_of(OUTPUT.read_text(encoding="utf-8")) if wanted and OUTPUT.exists() else {}
    OUTPUT.write_text(compose(fresh, kept), encoding="utf-8")
    print(f"wrote {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
