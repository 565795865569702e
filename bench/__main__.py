"""`make bench` / `python -m bench [--quick] [NAME ...]`: run the benchmarks, write bench/results/<name>.json
and bench/results/SUMMARY.md. Benchmarks measure; tests never assert timings."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
# name → module with `run(quick: bool) -> dict` and `summary(result: dict) -> str` (Markdown)
BENCHMARKS = (
    "static_path",
    "incremental",
    "orchestration",
    "ai_fanout",
    "free_tier",
    "publishing",
    "api_latency",
    "webhooks",
    "freshness",
    "backfill",
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, to try it out")
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="benchmarks to run (default: all)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        result: dict[str, Any] = module.run(quick=args.quick)
        result["_meta"] = {
            "benchmark": name,
            "quick": args.quick,
            "seconds": round(time.perf_counter() - started, 2),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {platform.python_version()}",
        }
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"{name}: {result['_meta']['seconds']} s → bench/results/{name}.json", flush=True)
    write_summary()


def write_summary() -> None:
    """SUMMARY.md from every result file present (so a partial run keeps the other figures)."""
    parts = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench`); figures from one machine, "
        "ratios measured side by side in the same run.",
        "",
    ]
    for name in BENCHMARKS:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        result = json.loads(path.read_text(encoding="utf-8"))
        module = importlib.import_module(f"bench.{name}")
        meta = result.get("_meta", {})
        parts += [
            f"## {name}",
            "",
            f"_{'quick' if meta.get('quick') else 'default'} size, {meta.get('seconds')} s, {meta.get('at')}_",
            "",
            module.summary(result),
            "",
        ]
    speedups = Path(__file__).with_name("speedups.md")  # the hand-kept log of what the profiles led to
    if speedups.exists():
        parts += [speedups.read_text(encoding="utf-8")]
    (RESULTS / "SUMMARY.md").write_text("\n".join(parts), encoding="utf-8")


if __name__ == "__main__":
    main()
