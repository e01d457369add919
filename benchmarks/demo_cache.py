"""Cold vs cached pipeline: run `regionflow demo` twice on a fresh store and compare wall times.

    python benchmarks/demo_cache.py [--store DIR] [--keep]

The second run must report every stage Cached and take ≤ 25% of the first run's wall time.
Both runs are whole processes (Prefect's embedded server start-up included), as a user sees them.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("ingest", "skeletonize", "train", "extract")


def run_demo(store: Path) -> tuple[float, dict[str, str], str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "regionflow.flows.cli", "demo", "--store", str(store)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"demo failed with exit code {proc.returncode}")
    states = {}
    for stage in STAGES:
        match = re.search(rf"^\s+{stage}\s+(\w+)", proc.stdout, re.MULTILINE)
        states[stage] = match.group(1) if match else "?"
    return seconds, states, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, help="store folder (default: a new temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    args = parser.parse_args()
    store = args.store or Path(tempfile.mkdtemp(prefix="regionflow-bench-")) / "store"
    if store.exists():
        shutil.rmtree(store)
    try:
        cold, cold_states, _ = run_demo(store)
        warm, warm_states, _ = run_demo(store)
    finally:
        if not args.keep:
            shutil.rmtree(store, ignore_errors=True)
    ratio = warm / cold
    print(f"cold run : {cold:7.1f} s  {cold_states}")
    print(f"warm run : {warm:7.1f} s  {warm_states}")
    print(f"warm/cold: {ratio:.1%} (target ≤ 25%)")
    all_cached = all(s == "Cached" for s in warm_states.values())
    print(f"every stage cached on the second run: {all_cached}")
    return 0 if all_cached and ratio <= 0.25 else 1


if __name__ == "__main__":
    sys.exit(main())
