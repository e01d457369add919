"""Comics: webtoon episodes → cuts, comic pages → panels (crops, JSON, debug overlays).

One Prefect task per episode and one per batch of pages (never one per image). An episode or
page whose completion record matches its input bytes and detector options is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import numpy as np
from prefect import task
from pydantic import Field

from regionflow.models.config import FrozenConfig
from regionflow.regions.comics.cuts import (
    Cut,
    RowStatistics,
    cuts_from_statistics,
    detect_cuts,
    row_statistics,
)
from regionflow.regions.comics.panels import detect_panels, draw_panels, panels_to_kumiko
from regionflow.storage import comics as store_comics
from regionflow.storage.fingerprints import fingerprint
from regionflow.storage.store import Store
from regionflow.tasks.episodes import Episode, StripOverlay
from regionflow.tasks.stage import stage_code, stage_logger

Byte = Annotated[int, Field(ge=0, le=255)]


class ComicsConfig(FrozenConfig):
    """Options of `regionflow cuts` and `regionflow panels` (see `regions.comics.cuts`, `regions.comics.panels`).

    Cut fields follow ``regions.comics.cuts.detect_cuts``; ``panel_*`` fields and ``direction``,
    ``min_panel_area``, ``remove_bubbles``, ``fallback``, ``gutter_fraction``, ``frame_lines``,
    ``insets``, ``deskew``, ``scan_borders`` follow ``regions.comics.panels.detect_panels``.
    """

    # linking the slices of an episode
    # "scale": rescale odd widths keeping aspect; "pad": centre them
    width_policy: Literal["scale", "pad"] = "scale"
    background: tuple[Byte, Byte, Byte] = (255, 255, 255)  # padding colour (BGR) for "pad"
    # cuts
    # "ours", or the seed's "seed-rough" / "seed" (rough + Canny/Hough)
    mode: Literal["ours", "seed", "seed-rough"] = "ours"
    tolerance: float = Field(default=24.0, ge=0)  # gutter colour tolerance, grey levels
    min_gutter: int | None = None  # None: max(2, 1 % of the width)
    min_cut_height: float | None = None  # None: 0.2 × width; lower blocks are fragments
    min_cut_area: float | None = None  # None: 0.12 × width²
    outlier_fraction: float = 0.002  # specks a gutter row may hold
    # "merge" into the nearest cut, or "separate" cuts of kind fragment
    fragments: Literal["merge", "separate"] = "merge"
    gutter_colour: Literal["auto"] | tuple[float, float, float] | None = "auto"
    # panels
    direction: Literal["ltr", "rtl"] = "ltr"  # reading direction within a row: "rtl" for manga
    panel_tolerance: float = Field(default=8.0, ge=0)
    panel_min_gutter: int = Field(default=1, ge=1)
    min_panel_area: float | None = None  # None: 0.5 % of the page
    remove_bubbles: bool = True
    fallback: bool = True
    gutter_fraction: float = 0.8  # share of a cut line that must be gutter (art may cross)
    frame_lines: bool = True  # split along a thin frame line where there is no gutter
    insets: bool = True  # closed frames inside a panel are panels of their own
    deskew: bool = True  # find the panels of a tilted scan on the page turned square
    scan_borders: bool = True  # crop bands of scanner background beyond the paper
    # pages with a longer side are searched shrunk to it (None: at their own size)
    panel_max_side: int | None = Field(default=1000, ge=64)
    # debug overlays of strips
    overlay_width: int = Field(default=480, ge=1)
    overlay_piece_height: int = Field(default=4096, ge=1)

    def cut_options(self) -> dict[str, Any]:
        """Keyword arguments of ``regions.comics.cuts.cuts_from_statistics`` (and ``detect_cuts``)."""
        return {
            "min_gutter": self.min_gutter,
            "min_cut_height": self.min_cut_height,
            "min_cut_area": self.min_cut_area,
            "outlier_fraction": self.outlier_fraction,
            "fragments": self.fragments,
            "gutter_colour": self.gutter_colour,
        }

    def panel_options(self) -> dict[str, Any]:
        """Keyword arguments of ``regions.comics.panels.detect_panels``."""
        return {
            "direction": self.direction,
            "tolerance": self.panel_tolerance,
            "min_gutter": self.panel_min_gutter,
            "min_panel_area": self.min_panel_area,
            "remove_bubbles": self.remove_bubbles,
            "fallback": self.fallback,
            "gutter_fraction": self.gutter_fraction,
            "frame_lines": self.frame_lines,
            "insets": self.insets,
            "deskew": self.deskew,
            "scan_borders": self.scan_borders,
            "max_side": self.panel_max_side,
        }

    def cuts_fingerprint(self) -> str:
        """Only what changes an episode's outputs (and the detector code)."""
        options = {
            "link": [self.width_policy, self.background],
            "mode": self.mode,
            "tolerance": self.tolerance,
            "cuts": self.cut_options(),
            "overlay": [self.overlay_width, self.overlay_piece_height],
        }
        # the detector and the slice linking (regions.comics.strips, called from tasks.episodes)
        code = stage_code("regionflow.regions.comics.cuts", "regionflow.regions.comics.strips")
        return fingerprint({"options": options, "code": code})

    def panels_fingerprint(self) -> str:
        code = stage_code(
            "regionflow.regions.comics.panels"
        )  # and what it imports, not the region model's code
        return fingerprint({"options": self.panel_options(), "code": code})


def episode_cuts(episode: Episode, cfg: ComicsConfig, overlay: StripOverlay) -> list[Cut]:
    """The cuts of an episode's strip without building it: row statistics slice by slice.

    Equal to ``detect_cuts(link_slices(...))``; ``"seed"`` mode runs its line finder on each
    rough cut with one gutter row above and below, exactly the rows the whole-strip call sees.
    """
    parts: list[RowStatistics] = []
    for placement, rows in episode.iter_placed():
        parts.append(row_statistics(rows, tolerance=cfg.tolerance))
        overlay.add(placement, rows)
    stats = RowStatistics.concatenate(parts)
    if cfg.mode == "ours":
        return cuts_from_statistics(stats, mode="ours", **cfg.cut_options())
    rough = cuts_from_statistics(stats, mode="seed-rough")
    if cfg.mode == "seed-rough":
        return rough
    found = []
    for c in rough:  # rough cuts never touch the strip's ends: the rows around them exist
        for f in detect_cuts(episode.rows(c.y - 1, c.h + 2), mode="seed"):
            found.append(Cut(f.x, c.y - 1 + f.y, f.w, f.h, f.kind, f.confidence))
    return found


def _cut_entry(cut: Cut) -> dict[str, Any]:
    return {
        "box": [int(v) for v in cut.box],
        "kind": cut.kind,
        "confidence": round(float(cut.confidence), 4),
    }


def _cuts_summary(store: Store, doc: dict[str, Any], computed: bool) -> dict[str, Any]:
    folder = (store_comics.CUTS, doc["episode"])
    return {
        "episode": doc["episode"],
        "computed": computed,
        "cuts": len(doc["cuts"]),
        "size": doc["size"],
        "crops": {c["file"]: "/".join((*folder, c["file"])) for c in doc["cuts"]},
        "json": store.url_of(*folder, store_comics.CUTS_JSON),
        "overlays": [store.url_of(*folder, name) for name in doc["overlays"]],
    }


@task(name="split-episode")
def split_episode(store_url: str, episode: str, config: dict) -> dict:
    """One webtoon episode → `cuts/<episode>/`: crops, overlay, cuts.json (skipped when done)."""
    store, cfg, log = Store(store_url), ComicsConfig.from_dict(config), stage_logger("comics")
    ep = Episode(episode, width_policy=cfg.width_policy, background=cfg.background)
    expected = {"input": ep.fingerprint(), "config": cfg.cuts_fingerprint()}
    if store_comics.is_complete(store, store_comics.CUTS_STAGE, ep.name, expected):
        log.info("cuts: %s unchanged, skipped", ep.name)
        return _cuts_summary(store, store_comics.read_episode_cuts(store, ep.name), False)
    overlay = StripOverlay(
        ep.index, max_width=cfg.overlay_width, piece_height=cfg.overlay_piece_height
    )
    cuts = [_cut_entry(c) for c in episode_cuts(ep, cfg, overlay)]
    boxes = [c["box"] for c in cuts]
    doc = store_comics.write_episode_cuts(
        store,
        ep.name,
        cuts,
        crops=ep.crops(boxes),
        overlay=overlay.pieces(boxes, [c["kind"] for c in cuts]),
        n_overlay=overlay.n_pieces,
        strip=ep.describe(),
        meta={
            "overlay_scale": overlay.scale,
            "mode": cfg.mode,
            "width_policy": cfg.width_policy,
            "config": cfg.to_dict(),
        },
    )
    store_comics.mark_complete(store, store_comics.CUTS_STAGE, ep.name, expected)
    log.info(
        "cuts: %s, %d slices, strip %dx%d, %d cuts", ep.name, len(ep.paths), *ep.size, len(cuts)
    )
    return _cuts_summary(store, doc, True)


def page_panels(
    page: np.ndarray, filename: str, cfg: ComicsConfig
) -> tuple[list[list[int]], np.ndarray, dict]:
    """(boxes in reading order, numbered overlay, kumiko dict) of one page."""
    panels = detect_panels(page, **cfg.panel_options())
    kumiko = panels_to_kumiko(
        filename, (page.shape[1], page.shape[0]), panels, numbering=cfg.direction
    )
    return kumiko["panels"], draw_panels(page, panels), kumiko


@task(name="split-pages")
def split_pages(store_url: str, pages: Sequence[str], config: dict) -> dict:
    """Comic pages → `panels/<page path>/`: crops in reading order, overlay, kumiko
    panels.json (``filename``: the input path as given); `panels/index.csv` maps them."""
    store, cfg, log = Store(store_url), ComicsConfig.from_dict(config), stage_logger("comics")
    inputs = store_comics.page_inputs(pages)
    config_fp, out, rows, computed = cfg.panels_fingerprint(), {}, [], 0
    for page in inputs:
        digest = store_comics.page_digest(page.path)
        expected = {"input": digest, "config": config_fp, "filename": page.given}
        record = store_comics.record_id(page.name)
        if not store_comics.is_complete(store, store_comics.PANELS_STAGE, record, expected):
            image = store_comics.read_page(page.path)
            boxes, overlay, kumiko = page_panels(image, page.given, cfg)
            store_comics.write_page_panels(store, page.name, image, boxes, overlay, kumiko)
            store_comics.mark_complete(
                store,
                store_comics.PANELS_STAGE,
                record,
                {**expected, "folder": page.name, "source": str(page.path.resolve())},
            )
            computed += 1
        doc = store_comics.read_page_panels(store, page.name)
        crops = [
            f"{store_comics.PANELS}/{page.name}/{store_comics.panel_file(n)}"
            for n in range(1, len(doc["panels"]) + 1)
        ]
        folder = f"{store_comics.PANELS}/{page.name}"
        out[page.given] = {
            "source": str(page.path),
            "folder": folder,
            "panels": doc["panels"],
            "crops": crops,
        }
        rows.append(
            {
                "input": page.given,
                "source": str(page.path.resolve()),
                "sha256": digest,
                "folder": page.name,
                "json": f"{folder}/{store_comics.PANELS_JSON}",
                "overlay": f"{folder}/overlay.png",
                "panels": len(doc["panels"]),
                "crops": " ".join(crops),
            }
        )
    written = store_comics.write_panels_index(store, rows)
    log.info(
        "panels: %d pages, %d computed, %d unchanged", len(inputs), computed, len(inputs) - computed
    )
    return {
        "pages": out,
        "computed": computed,
        "reused": len(inputs) - computed,
        "json": written["json"],
        "index": written["index"],
    }


@task(name="stage-crops")
def stage_crops(store_url: str, crops: dict[str, str]) -> dict:
    """Crops (unique name → path in the store) → one local folder for `region_export`."""
    return {"folder": str(store_comics.stage_crops(Store(store_url), crops))}
