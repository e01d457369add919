"""Runs one stage's work in a fresh process, for the crash tests to SIGKILL it.

    python -m tests.reliability.crash_driver STAGE STORE SOURCE

Prints "START" when the stage's own work begins (imports done), "DONE" when it returns. The
stage task's function is called directly (no Prefect API), so start-up is seconds.
"""

from __future__ import annotations

import json
import sys

CONFIGS = {
    "ingest": {},
    "skeletonize": {"rounds": 1024},
    "train": {
        "loss": "l1",
        "steps": 12,
        "batch_size": 2,
        "crop": 64,
        "lr": 1e-4,
        "checkpoint_every": 1,
        "keep_last": 2,
        "preview_every": 4,
        "num_workers": 0,
        "amp": False,
        "deterministic": True,
    },
    "extract": {
        "predictor": "ground_truth",
        "decoder": "full",
        "exports": ["labels", "flat", "regions", "coco", "svg"],
    },
}


def run_stage(stage: str, store: str, source: str) -> dict:
    if stage == "ingest":
        from regionflow.tasks.ingest import ingest_samples

        return ingest_samples.fn(store, {"source": source}, "fp")
    if stage == "skeletonize":
        from regionflow.tasks.skeletonize import skeletonize_samples

        return skeletonize_samples.fn(store, CONFIGS["skeletonize"], "fp")
    if stage == "train":
        import torch

        from regionflow.tasks.train import train_model

        torch.set_num_threads(1)
        return train_model.fn(store, CONFIGS["train"], "fp")
    if stage == "extract":
        from regionflow.tasks.extract import extract_regions

        return extract_regions.fn(store, CONFIGS["extract"], "fp")
    raise SystemExit(f"unknown stage {stage}")


def main() -> None:
    stage, store, source = sys.argv[1:4]
    print("START", flush=True)
    result = run_stage(stage, store, source)
    print(
        "DONE " + json.dumps({k: v for k, v in result.items() if isinstance(v, (int, str))}),
        flush=True,
    )


if __name__ == "__main__":
    main()
