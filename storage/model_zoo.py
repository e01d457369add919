"""The region model shipped with regionflow: where it lies, how it is verified, how it is written.

The weights live in the `regionflow.models` package (`models/zoo/default.pt`, half precision) next to a
manifest (`default.json`) holding their sha256, the decoder they were measured with and the recipe
that made them (docs/model_card.md). Loading checks the sha256 first, so a damaged or replaced
file is an error that says so rather than a model that quietly predicts garbage.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from regionflow.storage.atomic import atomic_write_bytes

DEFAULT_NAME = "default"
DEFAULT = "default"  # what `--checkpoint` / `train.init` accept to name the shipped model


class DamagedModelError(ValueError):
    """The shipped weights do not match the sha256 their manifest records."""


def zoo_folder() -> Path:
    """The folder of the shipped models (inside the installed `regionflow.models` package)."""
    return Path(str(resources.files("regionflow.models").joinpath("zoo")))


def default_model_path() -> Path:
    return zoo_folder() / f"{DEFAULT_NAME}.pt"


def default_manifest() -> dict[str, Any]:
    path = zoo_folder() / f"{DEFAULT_NAME}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the shipped model's manifest is missing; reinstall regionflow or pass "
            "--checkpoint"
        )
    return json.loads(path.read_text())


def default_decoder() -> str:
    """The decoder the shipped model was measured with ("simple", "full" or "colour")."""
    return str(default_manifest().get("decoder", "full"))


def default_decoding() -> dict[str, Any]:
    """{"decoder", "threshold"} recorded for the shipped model, and "short_side" where its
    manifest records one (docs/model_card.md says how each was chosen)."""
    manifest = default_manifest()
    found = {"decoder": default_decoder(), "threshold": default_threshold()}
    if manifest.get("short_side") is not None:
        found["short_side"] = int(manifest["short_side"])
    return found


def default_threshold() -> int:
    """The decoder's marker threshold recorded for the shipped model."""
    return int(default_manifest().get("threshold", 135))


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_default_model() -> dict[str, Any]:
    """The shipped generator checkpoint dict (fp16 weights under "model"), sha256-verified."""
    manifest = default_manifest()
    path = zoo_folder() / manifest["file"]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the shipped model is missing; reinstall regionflow or pass --checkpoint"
        )
    data = path.read_bytes()
    found = sha256_of(data)
    if found != manifest["sha256"]:
        raise DamagedModelError(
            f"{path}: sha256 {found} but the manifest records {manifest['sha256']}: the shipped "
            "model is damaged or was replaced; reinstall regionflow or pass --checkpoint"
        )
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def is_default(checkpoint: str | os.PathLike[str] | None) -> bool:
    return checkpoint is None or str(checkpoint) in ("", DEFAULT)


def read_model(checkpoint: str | os.PathLike[str] | None) -> dict[str, Any]:
    """A checkpoint dict: the shipped model for None / "default", else the file given."""
    from regionflow.storage.checkpoints import read_checkpoint

    return read_default_model() if is_default(checkpoint) else read_checkpoint(checkpoint)


def model_identity(checkpoint: str | os.PathLike[str] | None) -> str:
    """What identifies a model's weights in cache keys: the shipped sha256, or the file's."""
    if is_default(checkpoint):
        return "default:" + default_manifest()["sha256"]
    from regionflow.storage.fingerprints import file_fingerprint

    return file_fingerprint(str(checkpoint))


def export_weights(
    checkpoint: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    recipe: dict[str, Any],
    decoder: str = "full",
    threshold: int = 135,
    short_side: int | None = None,
) -> Path:
    """Write a training checkpoint's generator as half-precision shipped weights + manifest.

    Returns the weights' path; the manifest (`<stem>.json`) records the sha256, the step, the
    training config and `recipe`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = {k: v.detach().to(torch.float16).contiguous() for k, v in checkpoint["model"].items()}
    buffer = io.BytesIO()
    torch.save(
        {"format": "regionflow-generator/1", "model": model, "source": "regionflow default"},
        buffer,
    )
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    manifest_path = path.with_suffix(".json")
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest.update(
        {
            "file": path.name,
            "sha256": sha256_of(data),
            "bytes": len(data),
            "dtype": "float16",
            "step": int(checkpoint["step"]),
            "train_config": checkpoint.get("config", {}),
            "recipe": recipe,
            "decoder": decoder,
            "threshold": int(threshold),
            "short_side": short_side,
        }
    )
    atomic_write_bytes(
        manifest_path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    )
    return path
