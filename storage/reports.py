"""Evaluation reports: `<store>/reports/<eval>/` metrics.parquet, summary.json, report.md, plots."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from storage.exports import ExportWriter, encode_png, table_bytes
from storage.store import Store

REPORTS = "reports"
SCORE_NAMES = {
    "AP": "DanbooRegion AP (precision at 512)",
    "OIS": "DanbooRegion OIS",
    "ODS": "DanbooRegion ODS",
    "boundary_px_precision": "boundary precision (pixel tolerance)",
    "boundary_px_recall": "boundary recall (pixel tolerance)",
    "boundary_px_F": "boundary F (pixel tolerance)",
    "boundary_px_tolerance": "pixel tolerance (px)",
    "boundary_precision": "boundary precision (0.0075 × diagonal)",
    "boundary_recall": "boundary recall (0.0075 × diagonal)",
    "boundary_F": "boundary F (0.0075 × diagonal)",
    "covering": "segmentation covering",
    "VI": "variation of information (bits, lower is better)",
    "region_count_ratio": "predicted / true region count",
    "sweep_ODS_F": "boundary F, best decoder threshold for the set (ODS)",
    "sweep_OIS_F": "boundary F, best decoder threshold per image (OIS)",
    "sweep_ODS_threshold": "decoder threshold of the ODS",
}


def _precision_at(row: dict[str, Any], scale: int) -> float:
    n_est = row.get(f"danbooregion_n_est_{scale}", 0)
    return row.get(f"danbooregion_tp_{scale}", 0) / n_est if n_est else 1.0


def _scale_plot(rows: list[dict[str, Any]]) -> bytes | None:
    """Mean DanbooRegion precision vs scale, as PNG bytes."""
    scales = sorted(
        {int(k.rsplit("_", 1)[1]) for r in rows for k in r if k.startswith("danbooregion_tp_")}
    )
    if not scales:
        return None
    means = [float(np.mean([_precision_at(r, s) for r in rows])) for s in scales]

    def draw(ax):
        ax.plot(scales, means, marker="o")
        ax.set_xlabel("short side (px)")
        ax.set_ylabel("mean boundary precision")
        ax.set_title("DanbooRegion precision vs scale")

    return _figure_png(draw)


def _figure_png(draw) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    draw(ax)
    ax.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _threshold_plot(curve: dict[int, float]) -> bytes:
    def draw(ax):
        ax.plot(list(curve), list(curve.values()), marker="o")
        ax.set_xlabel("decoder threshold")
        ax.set_ylabel("boundary F (pooled)")
        ax.set_title("Boundary F vs decoder threshold")

    return _figure_png(draw)


def _size_plot(histograms: dict[str, list[int]]) -> bytes:
    def draw(ax):
        for name, counts in histograms.items():
            ax.step(
                range(len(counts)),
                counts,
                where="mid",
                label={"pred": "predicted", "gt": "ground truth"}[name],
            )
        ax.set_xlabel("region area, log2(pixels)")
        ax.set_ylabel("regions")
        ax.set_title("Region sizes")
        ax.legend()

    return _figure_png(draw)


def _preview(writer: ExportWriter, sample_id: str, store: Store) -> bytes | None:
    """image | skeleton map | flat regions, side by side."""
    from storage.samples import read_array

    try:
        image = read_array(store, sample_id, "image")
        skeleton = writer.read_image(sample_id, "skeleton.png", 1)
        flat = writer.read_image(sample_id, "flat.png", 1)
    except (OSError, KeyError, ValueError, FileNotFoundError):
        return None
    return encode_png(np.concatenate([image, skeleton, flat], axis=1))


def comparison_table(comparison: dict[str, dict[str, float]]) -> list[str]:
    """Markdown rows: one predictor per line, the headline scores as columns."""
    keys = [
        k
        for k in (
            "AP",
            "OIS",
            "ODS",
            "boundary_px_F",
            "boundary_F",
            "covering",
            "VI",
            "region_count_ratio",
        )
        if any(k in s for s in comparison.values())
    ]
    lines = ["| predictor | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, scores in comparison.items():
        cells = [
            f"{scores[k]:.4f}" if k in scores and not math.isnan(scores[k]) else "–" for k in keys
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def render_markdown(
    title: str,
    rows: list[dict[str, Any]],
    scores: dict[str, float],
    *,
    images: dict[str, str],
    comparison: dict[str, dict[str, float]] | None = None,
) -> str:
    lines = [f"# {title}", "", f"{len(rows)} images."]
    if scores:
        lines += ["", "| metric | value |", "|---|---|"]
        for key, label in SCORE_NAMES.items():
            if key in scores and not math.isnan(scores[key]):
                lines.append(f"| {label} | {scores[key]:.5f} |")
        worst = sorted((r for r in rows if "n_pixels" in r), key=lambda r: _precision_at(r, 512))[
            :5
        ]
        lines += [
            "",
            "## Worst images (precision at 512)",
            "",
            "| image | precision@512 | regions |",
            "|---|---|---|",
        ]
        lines += [f"| {r['id']} | {_precision_at(r, 512):.4f} | {r['n_regions']} |" for r in worst]
    else:
        lines += ["", "No ground truth for these images: exports only, no scores."]
    if comparison and len(comparison) > 1 and any(comparison.values()):
        lines += ["", "## Side by side (same images)", "", *comparison_table(comparison)]
        lines += [
            "",
            "ground_truth = GT skeleton through the decoder: the ceiling of the representation. "
            "AP/OIS/ODS are precision-only; read them with boundary F and covering.",
        ]
    for caption, name in images.items():
        lines += ["", f"## {caption}", "", f"![{caption}]({name})"]
    return "\n".join(lines) + "\n"


def write_report(
    store: Store,
    report_id: str,
    rows: list[dict[str, Any]],
    scores: dict[str, float],
    *,
    writer: ExportWriter | None,
    title: str,
    comparison: dict[str, dict[str, float]] | None = None,
    threshold_curve: dict[int, float] | None = None,
    size_histograms: dict[str, list[int]] | None = None,
) -> dict[str, str]:
    """Write metrics.parquet, summary.json, plots, preview and report.md; return their URLs."""
    base = (REPORTS, report_id)
    if rows:
        store.write_bytes(table_bytes(rows), *base, "metrics.parquet")
    store.write_json(
        {"title": title, "n_images": len(rows), "scores": scores, "comparison": comparison or {}},
        *base,
        "summary.json",
    )
    images = {}
    plot = _scale_plot([r for r in rows if "n_pixels" in r])
    if plot:
        store.write_bytes(plot, *base, "precision_vs_scale.png")
        images["Precision vs scale"] = "precision_vs_scale.png"
    if threshold_curve:
        store.write_bytes(_threshold_plot(threshold_curve), *base, "f_vs_threshold.png")
        images["Boundary F vs decoder threshold"] = "f_vs_threshold.png"
    if size_histograms:
        store.write_bytes(_size_plot(size_histograms), *base, "region_sizes.png")
        images["Region sizes"] = "region_sizes.png"
    preview = _preview(writer, rows[0]["id"], store) if rows and writer is not None else None
    if preview:
        store.write_bytes(preview, *base, "preview.png")
        images[f"Preview: {rows[0]['id']} (image | skeleton map | regions)"] = "preview.png"
    markdown = render_markdown(title, rows, scores, images=images, comparison=comparison)
    store.write_bytes(markdown.encode(), *base, "report.md")
    return {
        "report": store.url_of(*base, "report.md"),
        "metrics": store.url_of(*base, "metrics.parquet"),
        "markdown": markdown,
    }


QUALITY_MEASURES = (
    "small_region_area",
    "regions_per_megapixel",
    "largest_region_share",
    "unfinished",
)


def _quality_plot(rows: list[dict[str, Any]]) -> bytes | None:
    """Histograms of the per-sample annotation quality measures."""
    values = {m: [r[m] for r in rows if r.get(m) is not None] for m in QUALITY_MEASURES}
    if not any(values.values()):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(QUALITY_MEASURES), figsize=(14, 3), dpi=100)
    for ax, (name, data) in zip(axes, values.items(), strict=True):
        ax.hist(data, bins=20, color="#4c72b0")
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0].set_ylabel("samples")
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def write_ingest_report(
    store: Store, rows: list[dict[str, Any]], summary: dict[str, Any]
) -> dict[str, str]:
    """`reports/ingest/report.md` + quality.png: counts, quarantined samples, quality spread."""
    base = (REPORTS, "ingest")
    ok = [r for r in rows if r["status"] == "ok"]
    bad = [r for r in rows if r["status"] != "ok"]
    lines = [
        "# Ingest",
        "",
        "| samples | ingested | unchanged | retired | quarantined |",
        "|---|---|---|---|---|",
        f"| {summary['samples']} | {summary['ingested']} | {summary['unchanged']} | {summary['retired']} | {summary['quarantined']} |",
    ]
    flagged = [r for r in ok if r.get("flags")]
    if bad:
        lines += ["", "## Quarantined", "", "| sample | reason |", "|---|---|"]
        lines += [f"| {r['id']} | {r['reason']} |" for r in bad]
    if flagged:
        lines += [
            "",
            f"## Flagged ({len(flagged)} ingested with a warning)",
            "",
            "| sample | flags |",
            "|---|---|",
        ]
        lines += [f"| {r['id']} | {', '.join(r['flags'])} |" for r in flagged[:50]]
    plot = _quality_plot(ok)
    if plot:
        store.write_bytes(plot, *base, "quality.png")
        lines += ["", "## Annotation quality", "", "![quality](quality.png)"]
    markdown = "\n".join(lines) + "\n"
    store.write_bytes(markdown.encode(), *base, "report.md")
    return {"report": store.url_of(*base, "report.md"), "markdown": markdown}
