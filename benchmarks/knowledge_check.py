"""``newsbot check`` on a large knowledge file: megabytes per second and peak memory.

A knowledge file of about 50 MB (the largest allowed) is written from the seed items, each
copied with a fresh id, and ``newsbot check`` runs on it as a separate process, as a person
would run it; its wall time and peak resident memory are read from the operating system.
The peer is the same check with PyYAML's pure-Python loader (what ran before libyaml's C
loader was used), timed in-process on a tenth of the file because it is slow.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bot.knowledge.reading import PlainLoader
from bot.knowledge.store import MAX_FILE_BYTES, dump_knowledge, load_knowledge, validate_document

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "knowledge" / "news.yaml"
TARGET_BYTES = MAX_FILE_BYTES - 2**20
"""Just under the 50 MiB limit."""


def write_large_file(path: Path, target: int) -> int:
    """A valid knowledge file of about ``target`` bytes; the number of items in it."""
    seed = load_knowledge(SEED)
    one_round = len(dump_knowledge(seed).encode())
    rounds = max(1, target // one_round)
    items = [
        item.model_copy(update={"id": f"{item.id[:70]}-{n}"})
        for n in range(rounds)
        for item in seed
    ]
    path.write_text(dump_knowledge(items), encoding="utf-8")
    return len(items)


def check_in_a_process(path: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak resident MiB of ``newsbot check PATH``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"newsbot check failed: {result.stderr[:500]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return elapsed, cpu, after.ru_maxrss / 1024


def pure_python_seconds(path: Path) -> float:
    """Reading and validating ``path`` as before: ``yaml.load`` with the pure-Python loader."""
    pure = type("PurePlainLoader", (yaml.SafeLoader,), {})
    pure.yaml_implicit_resolvers = PlainLoader.yaml_implicit_resolvers
    started = time.perf_counter()
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=pure)
    validate_document(data, str(path))
    return time.perf_counter() - started


def run() -> str:
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "big.yaml"
        count = write_large_file(big, TARGET_BYTES)
        size_mb = big.stat().st_size / 1e6
        seconds, cpu, peak = check_in_a_process(big)
        small = Path(folder) / "small.yaml"
        small_count = write_large_file(small, TARGET_BYTES // 10)
        small_mb = small.stat().st_size / 1e6
        pure = pure_python_seconds(small)
    loader = "libyaml's C loader" if hasattr(yaml, "CSafeLoader") else "the pure-Python loader"
    return "\n".join(
        [
            "## Checking a knowledge file: `newsbot check` on 50 MB",
            "",
            f"A {size_mb:.1f} MB file of {count:,} items (the seed's, with fresh ids), checked by",
            "`newsbot check` as a separate process (start-up included); the peer is PyYAML's",
            f"pure-Python loader on a {small_mb:.1f} MB file ({small_count:,} items), in-process.",
            "",
            "Throughput over the wall time, and over the CPU time (what the check costs on an",
            "idle core; other work on a busy machine stretches the wall time).",
            "",
            "| loader | file | wall time | CPU time | MB/s (wall) | MB/s (CPU) | peak memory |",
            "|---|---|---|---|---|---|---|",
            f"| {loader} (`newsbot check`) | {size_mb:.1f} MB | {seconds:.1f} s | {cpu:.1f} s "
            f"| {size_mb / seconds:.1f} | {size_mb / cpu:.1f} | {peak:.0f} MiB |",
            f"| pure-Python loader | {small_mb:.1f} MB | {pure:.1f} s | - "
            f"| {small_mb / pure:.1f} | - | - |",
        ]
    )


if __name__ == "__main__":
    print(run())
