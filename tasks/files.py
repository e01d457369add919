"""One-file work for the single-image commands: read the file via storage, call one pure
function, write the result via storage, return where it went. Plain functions, no Prefect:
one image is too small a unit for a task run."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from regionflow.regions.danbooregion.decode import flat_colour
from regionflow.regions.danbooregion.labels import given_labels, resize_labels
from regionflow.regions.danbooregion.skeleton import normal_map, skeleton_target, watershed_markers
from regionflow.storage.images import read_image_file, read_region_map, write_image_file


def skeletonize_file(
    region: Path,
    output: Path,
    *,
    normal: Path | None = None,
    markers: Path | None = None,
    rounds: int = 512,
    method: str = "jacobi",
    seed: int = 0,
    threshold: int = 200,
) -> dict[str, Path]:
    """A region map's skeleton target to `output`; its normal map and watershed markers (0/255)
    too where asked. Returns what → written file."""
    height = skeleton_target(read_region_map(region), rounds=rounds, seed=seed, method=method)
    written = {"skeleton": write_image_file(output, height)}
    if normal:
        written["normal"] = write_image_file(normal, normal_map(height))
    if markers:
        mask = watershed_markers(height, threshold=threshold).astype(np.uint8) * 255
        written["markers"] = write_image_file(markers, mask)
    return written


def flat_colour_file(image: Path, region: Path, output: Path) -> tuple[Path, int]:
    """Each region of a region map (colours or 16-bit labels; resized to the image when the
    sizes differ) filled with the image's median colour. Returns (written file, regions)."""
    pixels = read_image_file(image)
    labels = resize_labels(
        given_labels(read_image_file(region, cv2.IMREAD_UNCHANGED)), pixels.shape
    )
    return write_image_file(output, flat_colour(pixels, labels)), len(np.unique(labels))


def import_weights_file(weights: Path, output: Path) -> Path:
    """The original Keras weights (HDF5) as a regionflow generator checkpoint at `output`."""
    from regionflow.models.unet import RegionUNet
    from regionflow.models.weights import import_keras_weights
    from regionflow.storage.checkpoints import write_generator_checkpoint

    net = import_keras_weights(weights, RegionUNet())
    return write_generator_checkpoint(output, net.state_dict(), source=str(weights))
