"""Evaluation reports: `<store>/reports/<eval>/` metrics.parquet, summary.json, report.md, plots.

Long because the evaluation, ingest, training and pipeline reports share one way of drawing
plots and embedding them in markdown.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import cv2
import numpy as np

from regionflow.storage.exports import (
    EXPORT_FILES,
    SKELETON_FILE,
    ExportWriter,
    decode_image,
    encode_png,
    table_bytes,
)
from regionflow.storage.store import Store

REPORTS = "reports"
# A Prefect artifact is one database row that the UI renders as one page, and it cannot follow a
# relative file name to the store: pictures travel inside the markdown as data URIs. Each one is
# shrunk to at most IMAGE_SIDE px on its longer side and IMAGE_BUDGET bytes (before base64), so a
# report of four pictures stays well under a megabyte.
IMAGE_SIDE = 1280
IMAGE_BUDGET = 150_000
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


def data_uri(
    image: bytes | np.ndarray, *, max_side: int = IMAGE_SIDE, budget: int = IMAGE_BUDGET
) -> str:
    """A picture as a `data:image/...;base64,` URI small enough for a Prefect artifact.

    image: encoded PNG/JPEG bytes, or an (H, W) / (H, W, 3) uint8 array (BGR, as OpenCV).
    The longer side is shrunk to `max_side`; PNG is kept when it fits in `budget` bytes (plots
    stay sharp), else JPEG, and the picture is halved again until it fits.
    """
    if max_side < 16:
        raise ValueError(f"max_side: expected at least 16 px, got {max_side}")
    pixels = decode_image(image, cv2.IMREAD_COLOR) if isinstance(image, bytes) else image
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        raise ValueError(f"image: expected uint8 (H, W[, 3]), got {pixels.dtype} {pixels.shape}")
    side = max_side
    while True:
        scale = min(1.0, side / max(pixels.shape[:2]))
        if scale < 1.0:
            size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
            shrunk = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        else:
            shrunk = pixels
        png = encode_png(shrunk)
        if len(png) <= budget:
            return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        ok, jpeg = cv2.imencode(".jpg", shrunk, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if ok and (len(jpeg) <= budget or side <= 64):
            return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")
        side = max(side // 2, 32)


def embedded(pictures: dict[str, tuple[str, bytes]]) -> dict[str, str]:
    """caption → data URI, from caption → (file name, encoded bytes)."""
    return {caption: data_uri(data) for caption, (_, data) in pictures.items()}


def _scale_plot(curve: dict[int, float]) -> bytes:
    """Mean DanbooRegion precision vs scale, as PNG bytes."""

    def draw(ax):
        ax.plot(list(curve), list(curve.values()), marker="o")
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
    from regionflow.storage.samples import read_array

    try:
        image = read_array(store, sample_id, "image")
        skeleton = writer.read_image(sample_id, SKELETON_FILE, cv2.IMREAD_COLOR)
        flat = writer.read_image(sample_id, EXPORT_FILES["flat"], cv2.IMREAD_COLOR)
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
    n_images: int,
    scores: dict[str, float],
    *,
    images: dict[str, str],
    worst: list[dict[str, Any]] | None = None,
    comparison: dict[str, dict[str, float]] | None = None,
) -> str:
    """The report: scores, the worst images ({"image", "precision", "n_regions"} at 512),
    predictors side by side, pictures (caption → file name or data URI)."""
    lines = [f"# {title}", "", f"{n_images} images."]
    if scores:
        lines += ["", "| metric | value |", "|---|---|"]
        for key, label in SCORE_NAMES.items():
            if key in scores and not math.isnan(scores[key]):
                lines.append(f"| {label} | {scores[key]:.5f} |")
    if scores and worst:
        lines += [
            "",
            "## Worst images (precision at 512)",
            "",
            "| image | precision@512 | regions |",
            "|---|---|---|",
        ]
        lines += [f"| {w['image']} | {w['precision']:.4f} | {w['n_regions']} |" for w in worst]
    if not scores:
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
    image_ids: list[str],
    writer: ExportWriter | None,
    title: str,
    comparison: dict[str, dict[str, float]] | None = None,
    worst: list[dict[str, Any]] | None = None,
    scale_curve: dict[int, float] | None = None,
    threshold_curve: dict[int, float] | None = None,
    size_histograms: dict[str, list[int]] | None = None,
) -> dict[str, str]:
    """Write metrics.parquet (the metric rows as given), summary.json, plots, preview and
    report.md; return their URLs. Scores and curves come derived (regions.danbooregion.metrics)."""
    base = (REPORTS, report_id)
    if rows:
        store.write_bytes(table_bytes(rows), *base, "metrics.parquet")
    store.write_json(
        {
            "title": title,
            "n_images": len(image_ids),
            "scores": scores,
            "comparison": comparison or {},
        },
        *base,
        "summary.json",
    )
    pictures: dict[str, tuple[str, bytes]] = {}  # caption → (file name, PNG bytes)
    if scale_curve:
        pictures["Precision vs scale"] = ("precision_vs_scale.png", _scale_plot(scale_curve))
    if threshold_curve:
        pictures["Boundary F vs decoder threshold"] = (
            "f_vs_threshold.png",
            _threshold_plot(threshold_curve),
        )
    if size_histograms:
        pictures["Region sizes"] = ("region_sizes.png", _size_plot(size_histograms))
    preview = _preview(writer, image_ids[0], store) if image_ids and writer is not None else None
    if preview:
        caption = f"Preview: {image_ids[0]} (image | skeleton map | regions)"
        pictures[caption] = ("preview.png", preview)
    for name, data in pictures.values():
        store.write_bytes(data, *base, name)
    files = {caption: name for caption, (name, _) in pictures.items()}
    text = {"worst": worst, "comparison": comparison}
    markdown = render_markdown(title, len(image_ids), scores, images=files, **text)
    store.write_bytes(markdown.encode(), *base, "report.md")
    report_url = store.url_of(*base, "report.md")
    artifact = render_markdown(
        title, len(image_ids), scores, images=embedded(pictures), **text
    ) + on_disk(report_url, "metrics.parquet, summary.json and the plots beside it")
    return {
        "report": report_url,
        "metrics": store.url_of(*base, "metrics.parquet"),
        "markdown": markdown,
        "artifact": artifact,
    }


def on_disk(url: str, beside: str = "") -> str:
    """The closing line of an artifact: where the files are, as text (the UI cannot open a
    local path, so it is no link)."""
    extra = f" ({beside})" if beside else ""
    return f"\nOn disk: `{url}`{extra}.\n"


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
    artifact_lines = list(lines)
    if plot:
        store.write_bytes(plot, *base, "quality.png")
        lines += ["", "## Annotation quality", "", "![quality](quality.png)"]
        artifact_lines += ["", "## Annotation quality", "", f"![quality]({data_uri(plot)})"]
    markdown = "\n".join(lines) + "\n"
    store.write_bytes(markdown.encode(), *base, "report.md")
    report_url = store.url_of(*base, "report.md")
    artifact = "\n".join(artifact_lines) + "\n" + on_disk(report_url, "and quality.png")
    return {"report": report_url, "markdown": markdown, "artifact": artifact}


LOSS_KEYS = ("loss_g", "loss_d", "l1", "val_l1")
TABLE_KEYS = (*LOSS_KEYS, "lr", "images_per_s")


def _loss_plot(rows: list[dict[str, Any]]) -> bytes | None:
    """The losses against the step (log scale where all are positive)."""
    keys = [k for k in LOSS_KEYS if any(r.get(k) is not None for r in rows)]
    if not keys or len(rows) < 2:
        return None

    def draw(ax):
        for key in keys:
            points = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
            ax.plot(*zip(*points, strict=True), label=key, linewidth=1)
        if all(v > 0 for r in rows for k in keys if (v := r.get(k)) is not None):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title("Training losses")
        ax.legend()

    return _figure_png(draw)


def sample_rows(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """At most `n` rows spread evenly over `rows`, always including the last."""
    if len(rows) <= n:
        return list(rows)
    picks = {round(i * (len(rows) - 1) / (n - 1)) for i in range(n)}
    return [rows[i] for i in sorted(picks)]


def training_markdown(
    run_id: str,
    rows: list[dict[str, Any]],
    *,
    step: int,
    steps: int,
    preview: np.ndarray | None,
    location: str,
) -> str:
    """A training run as an artifact: where it is, its metrics (a table of up to 12 steps
    spread over the run), the loss curve and the latest preview, embedded.

    rows: the run's metrics, one dict per step with a `step` key; preview: (H, 3W, 3) uint8
    BGR (input | target | prediction).
    """
    lines = [f"# Training run {run_id}", "", f"Step {step} of {steps}."]
    shown = sample_rows([r for r in rows if r["step"] <= step], 12)
    keys = [k for k in TABLE_KEYS if any(r.get(k) is not None for r in shown)]
    if shown:
        lines += ["", "| step | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for r in shown:
            cells = [f"{r[k]:.4g}" if r.get(k) is not None else "–" for k in keys]
            lines.append(f"| {r['step']} | " + " | ".join(cells) + " |")
    plot = _loss_plot([r for r in rows if r["step"] <= step])
    if plot:
        lines += ["", "## Loss curve", "", f"![loss curve]({data_uri(plot)})"]
    if preview is not None:
        lines += [
            "",
            "## Latest preview (input | target | prediction)",
            "",
            f"![preview]({data_uri(preview)})",
        ]
    return "\n".join(lines) + "\n" + on_disk(location, "checkpoints, metrics.parquet, previews/")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def pipeline_summary_markdown(
    title: str,
    stages: list[dict[str, Any]],
    *,
    comparison: dict[str, dict[str, float]] | None = None,
    scored_on: str = "",
    tolerance_px: float | None = None,
    reports: dict[str, str] | None = None,
) -> str:
    """One table of the stages (state, done / cached / quarantined, duration), the headline
    scores of each predictor, and where the reports are (as text).

    stages: one dict per stage with stage, state, unit, done, cached, quarantined, duration_s.
    """
    lines = [
        f"# {title}",
        "",
        "| stage | state | done | cached | quarantined | duration |",
        "|---|---|---|---|---|---|",
    ]
    for s in stages:
        unit = f" {s['unit']}" if s.get("unit") else ""
        lines.append(
            f"| {s['stage']} | {s['state']} | {s['done']}{unit} | {s['cached']}{unit} "
            f"| {s['quarantined']} | {_duration(s.get('duration_s'))} |"
        )
    if comparison and any(comparison.values()):
        lines += ["", f"## Scores{f' ({scored_on})' if scored_on else ''}", ""]
        lines += comparison_table(comparison)
        tolerance = f"{tolerance_px:g} px" if tolerance_px is not None else "a pixel tolerance"
        lines += [
            "",
            f"boundary_px_F: boundary F at {tolerance}; boundary_F at 0.0075 × the diagonal. "
            "AP/OIS/ODS are DanbooRegion's precision-only scores.",
        ]
    if reports:
        lines += ["", "## Reports on disk", ""]
        lines += [f"- {name}: `{url}`" for name, url in reports.items()]
    return "\n".join(lines) + "\n"
