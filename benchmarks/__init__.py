"""Benchmarks: ``make bench`` runs every section in ``SECTIONS`` and writes ``BENCHMARKS.md``.

A section is a module in this package with ``def run() -> str`` returning markdown (its own
``##`` heading included). Add a section by appending its module name to ``SECTIONS``; they run
in this order.
"""

from __future__ import annotations

SECTIONS: list[str] = [
    "benchmarks.retrieval_quality",
    "benchmarks.issue11",
    "benchmarks.retrieval_cost",
    "benchmarks.e2e",
    "benchmarks.webhook",
    "benchmarks.processes",
    "benchmarks.broadcast",
    "benchmarks.digest",
    "benchmarks.knowledge_check",
    "benchmarks.retention",
    "benchmarks.duplicate_window",
    "benchmarks.feeds",
]
