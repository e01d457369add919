"""Helpers shared by the metric families: ratios with the empty-set convention, F, rows, keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from regionflow.regions.danbooregion.labels import colour_key


def _ratio(numerator: float, denominator: float) -> float:
    return 1.0 if denominator == 0 else float(numerator) / float(denominator)


def _f_score(precision: float, recall: float) -> float:
    total = precision + recall
    return 0.0 if total == 0 else 2.0 * precision * recall / total


def _as_rows(rows: Iterable[Mapping[str, Any]] | Any) -> list[Mapping[str, Any]]:
    if hasattr(rows, "to_dict"):  # a pandas DataFrame read back from Parquet
        rows = rows.to_dict("records")
    rows = list(rows)
    if not rows:
        raise ValueError("rows: no rows to summarise")
    return rows


def _keys(region_map: np.ndarray, name: str) -> np.ndarray:
    region_map = np.asarray(region_map)
    try:
        key = colour_key(region_map)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    if key.size == 0:
        raise ValueError(f"{name}: empty map")
    return key
