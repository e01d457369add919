"""The webtoon seed's experiment table on the built-in parts data: style A, style B (small),
both, A→B and B→A transfer; segm/bbox AP on each target's held-out split, raw and snapped.

    python benchmarks/parts_experiments.py --store /tmp/parts-bench --steps 300 --json out.json

Every run trains the same number of steps; "small" runs use the first --small train images of
the target style (the seed's second title had 82 images against 188). Transfer runs start from
the full-data run of the other style (`init`). Prints a Markdown table (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from prefect.logging import disable_run_logger

from regionflow.tasks.parts import (
    PartsEvalConfig,
    PartsIngestConfig,
    config_dict,
    evaluate_parts,
    ingest_parts,
    train_parts,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--n-train", type=int, default=64)
    parser.add_argument("--n-val", type=int, default=24)
    parser.add_argument("--small", type=int, default=12)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json")
    args = parser.parse_args()
    train = {"steps": args.steps, "image_size": args.size, "batch_size": args.batch_size, "threads": args.threads,
             "device": args.device, "checkpoint_every": max(args.steps // 4, 1)}  # fmt: skip
    rows = []
    with disable_run_logger():
        data = {}
        for style in ("A", "B"):
            cfg = PartsIngestConfig(
                style=style, n_train=args.n_train, n_val=args.n_val, size=args.size, seed=11
            )
            data[style] = ingest_parts.fn(args.store, config_dict(cfg), style)

        def run(name, datasets, max_images=0, init=None):
            started, cpu = time.perf_counter(), time.process_time()
            result = train_parts.fn(
                args.store, train | ({"init": init} if init else {}),
                [data[s]["dataset"] for s in datasets], "+".join(datasets), max_images,
            )  # fmt: skip
            result["wall_s"], result["cpu_s"] = (
                time.perf_counter() - started,
                time.process_time() - cpu,
            )
            print(f"{name}: {result['images']} images, {result['wall_s']:.0f} s", flush=True)
            return result

        def score(name, trained, target):
            ev = evaluate_parts.fn(
                args.store,
                config_dict(PartsEvalConfig()),
                trained["checkpoint"],
                data[target]["dataset"],
                name,
            )
            row = {"experiment": name, "eval": f"style {target} val", "train_images": trained["images"],
                   "steps": trained["steps"], "train_wall_s": round(trained["wall_s"], 1)}  # fmt: skip
            row |= {
                k: round(100 * v, 1) for k, v in ev.items() if k.endswith(("AP", "AP50", "AP75"))
            }
            rows.append(row)
            print(json.dumps(row), flush=True)

        a = run("A", ["A"])
        score("A", a, "A")
        b = run("B", ["B"])
        score("B", b, "B")
        b_small = run("B small", ["B"], args.small)
        score("B small (scratch)", b_small, "B")
        a_small = run("A small", ["A"], args.small)
        score("A small (scratch)", a_small, "A")
        both = run("both", ["A", "B"])
        score("both", both, "A")
        score("both", both, "B")
        score("A→B transfer (B small)", run("A→B", ["B"], args.small, a["checkpoint"]), "B")
        score("B→A transfer (A small)", run("B→A", ["A"], args.small, b["checkpoint"]), "A")
    device = (
        torch.cuda.get_device_name()
        if torch.cuda.is_available() and args.device != "cpu"
        else "cpu"
    )
    print(f"\ndevice: {device}, torch threads {torch.get_num_threads()}\n")
    print(
        "| experiment | eval | train imgs | steps | segm AP | segm AP snapped | bbox AP | segm AP50 | train s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['experiment']} | {r['eval']} | {r['train_images']} | {r['steps']} | {r['raw_segm_AP']} | "
              f"{r.get('snapped_segm_AP', '')} | {r['raw_bbox_AP']} | {r['raw_segm_AP50']} | {r['train_wall_s']} |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"device": device, "args": vars(args), "rows": rows}, handle, indent=2)


if __name__ == "__main__":
    main()
