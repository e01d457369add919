"""Reading a dataset folder: the DanbooRegion2020 layout, or a plain folder of images.

DanbooRegion2020: `{train,val,test}/N.image.png` + `N.region.png` (test has images only). The
extension is not trusted (`X.image.png` holds JPEG data); validation decodes by content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
EXPORT_SPLIT = "images"  # samples of a plain image folder: no region maps


@dataclass(frozen=True)
class SampleFiles:
    """One sample's raw files inside a source folder."""

    id: str  # unique in the store: "<split>-<name>"
    split: str
    image: Path
    region: Path | None
    duplicate_of: str | None = None  # a second file claiming another sample's id

    def image_bytes(self) -> bytes:
        return self.image.read_bytes()

    def region_bytes(self) -> bytes | None:
        return self.region.read_bytes() if self.region else None

    def digest(self) -> str:
        """sha256 of the image's and the region map's bytes: the sample's input fingerprint."""
        import hashlib

        return hashlib.sha256(self.image_bytes() + b"\0" + (self.region_bytes() or b"")).hexdigest()


def natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def find_dataset_root(folder: Path) -> Path:
    """The folder holding `train/`, `val/` or `test/`: `folder` itself or one level down."""
    if any((folder / s).is_dir() for s in SPLITS):
        return folder
    for child in sorted(p for p in folder.iterdir() if p.is_dir()):
        if any((child / s).is_dir() for s in SPLITS):
            return child
    return folder


def scan_dataset(folder: Path) -> list[SampleFiles]:
    """Every sample of a DanbooRegion2020-layout folder, or of a plain folder of images.

    Two files that claim one id (`1.image.png` and `1.image.jpg`) both stay: the first keeps the
    id, the second gets `<id>~<file name>` and `duplicate_of`, so ingest can quarantine it.
    """
    return _unique_ids(_scan(folder))


def _unique_ids(samples: list[SampleFiles]) -> list[SampleFiles]:
    seen: dict[str, SampleFiles] = {}
    out = []
    for sample in samples:
        if sample.id in seen:
            sample = SampleFiles(
                f"{sample.id}~{_safe(sample.image.name)}",
                sample.split,
                sample.image,
                sample.region,
                duplicate_of=sample.id,
            )
        seen.setdefault(sample.id, sample)
        out.append(sample)
    return out


def _scan(folder: Path) -> list[SampleFiles]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"source: {folder} is not a folder")
    root = find_dataset_root(folder)
    splits = [s for s in SPLITS if (root / s).is_dir()]
    if not splits:
        return _scan_plain(root)
    samples = []
    for split in splits:
        files = sorted((root / split).iterdir(), key=lambda p: natural_key(p.name))
        for image in files:
            name = image.name
            if not name.endswith(".image" + image.suffix) or not image.is_file():
                continue
            stem = name[: -len(".image" + image.suffix)]
            region = _first_existing(root / split, stem + ".region", image.suffix)
            samples.append(SampleFiles(f"{split}-{_safe(stem)}", split, image, region))
    return samples


def _scan_plain(root: Path) -> list[SampleFiles]:
    files = sorted(
        (p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: natural_key(str(p.relative_to(root))),
    )
    return [
        SampleFiles(
            f"{EXPORT_SPLIT}-{_safe(str(p.relative_to(root).with_suffix('')))}",
            EXPORT_SPLIT,
            p,
            None,
        )
        for p in files
    ]


def _first_existing(folder: Path, stem: str, preferred: str) -> Path | None:
    for suffix in (preferred, *sorted(IMAGE_SUFFIXES)):
        candidate = folder / (stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip(".") or "_"
