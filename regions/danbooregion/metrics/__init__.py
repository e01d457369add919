"""Region-extraction metrics. Store counts, derive scores.

Per-image functions return raw counts (plain ints/floats); `image_metrics` and its siblings
tag them as long-format metric rows (one per image, family and scale/threshold/bin: a Parquet
row each, see `rows`); reductions turn a list of such rows into scores, with the
reduction written out.

Three families:

* **DanbooRegion AP / OIS / ODS** — the authors' boundary precision at several scales, no
  tolerance, no recall (`danbooregion_counts`, `danbooregion_scores`).
* **Boundary precision / recall / F** with a distance tolerance and one-to-one matching, as in
  BSDS (`boundary_counts`, `boundary_scores`).
* **Region metrics** from the contingency table: segmentation covering, variation of
  information (in bits), region-count ratio (`region_counts`).

Empty-set convention, used everywhere: a precision with nothing predicted is 1 (no false
positive was made), a recall with nothing to find is 1, and F is 0 when precision + recall is 0.

Modules: `ap` (DanbooRegion AP / OIS / ODS), `boundary` (precision / recall / F with
tolerance), `contingency` (region metrics), `rows` (long-format metric rows and their
reductions); `_common` holds what they share. The names below are the public API.
"""

from regionflow.regions.danbooregion.metrics.ap import (
    DANBOOREGION_SCALES,
    danbooregion_counts,
    danbooregion_edges,
    danbooregion_scores,
)
from regionflow.regions.danbooregion.metrics.boundary import (
    boundary_counts,
    boundary_map,
    boundary_scores,
)
from regionflow.regions.danbooregion.metrics.contingency import (
    region_counts,
)
from regionflow.regions.danbooregion.metrics.rows import (
    extracted_row,
    extraction_rows,
    image_metrics,
    metric_rows,
    precision_by_scale,
    region_size_histogram,
    report_figures,
    size_histograms,
    size_rows,
    summarize,
    threshold_curve,
    threshold_sweep,
    worst_images,
)

__all__ = [
    "DANBOOREGION_SCALES",
    "boundary_counts",
    "boundary_map",
    "boundary_scores",
    "danbooregion_counts",
    "danbooregion_edges",
    "danbooregion_scores",
    "extracted_row",
    "extraction_rows",
    "image_metrics",
    "metric_rows",
    "precision_by_scale",
    "region_counts",
    "region_size_histogram",
    "report_figures",
    "size_histograms",
    "size_rows",
    "summarize",
    "threshold_curve",
    "threshold_sweep",
    "worst_images",
]
