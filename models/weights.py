"""Generator weights in and out: the released Keras HDF5 file, and our training checkpoints.

Keras layout (REFERENCE §1.3): for each of the 23 conv layers `<layer>` (`models.unet.LAYER_NAMES`)
the datasets `model_weights/<layer>/generator/<layer>/kernel:0` (kH, kW, in, out — HWIO) and
`.../bias:0` (out,). Keras convolutions are cross-correlations like torch's, so a kernel only
needs its axes permuted to OIHW.

One thing the file cannot tell us is the order in which the original concatenated [upsampled,
skip] in the decoder: both give the same shapes. Ours is upsampled-first; if imported weights
misbehave, `concat_order="skip_first"` swaps the two input-channel blocks of each `d*_c1` kernel.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import torch

from regionflow.models.unet import DECODER_LEVELS, LAYER_NAMES, RegionUNet

ConcatOrder = Literal["upsampled_first", "skip_first"]
MODEL_NAME = "generator"


def _h5py():
    try:
        import h5py
    except ImportError as error:  # optional dependency: the `weights` extra
        raise ImportError(
            "h5py is needed for Keras weights: pip install 'regionflow[weights]'"
        ) from error
    return h5py


def _skip_width(layer: str, net: RegionUNet) -> int | None:
    """Input channels of this layer's skip when it is a decoder level's first conv, else None."""
    if layer.endswith("_c1") and layer[:-3] in DECODER_LEVELS:
        return getattr(net, layer).out_channels  # the skip has the decoder level's width
    return None


def _swap_blocks(kernel_hwio: np.ndarray, first: int) -> np.ndarray:
    """Swap the input-channel blocks [:first] and [first:] of an HWIO kernel."""
    return np.concatenate([kernel_hwio[:, :, first:], kernel_hwio[:, :, :first]], axis=2)


def _find_dataset(group: Any, suffix: str, layer: str, path: str) -> np.ndarray:
    names = group.attrs.get("weight_names")
    candidates: list[str] = []
    if names is not None:
        candidates = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
        candidates = [n for n in candidates if n.endswith(suffix)]
    if not candidates:
        found: list[str] = []
        group.visititems(lambda name, obj: found.append(name) if name.endswith(suffix) else None)
        candidates = found
    if len(candidates) != 1:
        raise ValueError(
            f"h5_path: layer {layer!r} in {path} has {len(candidates)} '{suffix}' datasets"
        )
    return np.asarray(group[candidates[0]], dtype=np.float32)


def import_keras_weights(
    h5_path: str | os.PathLike[str],
    net: RegionUNet,
    *,
    concat_order: ConcatOrder = "upsampled_first",
) -> RegionUNet:
    """Copy the 23 conv layers of a Keras HDF5 file into `net` (in place; returns it).

    Accepts a full-model file (weights under `model_weights/`) or a `save_weights` file (layers at
    the root). Raises ValueError naming the layer when one is missing or has the wrong shape.
    """
    if concat_order not in ("upsampled_first", "skip_first"):
        raise ValueError(
            f"concat_order: expected 'upsampled_first' or 'skip_first', got {concat_order!r}"
        )
    h5py = _h5py()
    path = os.fspath(h5_path)
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        tensors: dict[str, torch.Tensor] = {}
        for layer in LAYER_NAMES:
            if layer not in root:
                raise ValueError(f"h5_path: layer {layer!r} missing from {path}")
            kernel = _find_dataset(root[layer], "kernel:0", layer, path)
            bias = _find_dataset(root[layer], "bias:0", layer, path)
            conv = getattr(net, layer)
            expected = tuple(conv.weight.shape[2:]) + (conv.in_channels, conv.out_channels)
            if kernel.shape != expected or bias.shape != (conv.out_channels,):
                raise ValueError(
                    f"h5_path: layer {layer!r} kernel {kernel.shape} / bias {bias.shape}, "
                    f"expected {expected} / ({conv.out_channels},)"
                )
            skip = _skip_width(layer, net)
            if skip is not None and concat_order == "skip_first":
                kernel = _swap_blocks(kernel, skip)
            tensors[f"{layer}.weight"] = torch.from_numpy(
                np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
            )
            tensors[f"{layer}.bias"] = torch.from_numpy(bias)
    net.load_state_dict(tensors, strict=True)
    return net


def export_keras_weights(
    net: RegionUNet,
    h5_path: str | os.PathLike[str],
    *,
    concat_order: ConcatOrder = "upsampled_first",
) -> None:
    """Write `net` in the Keras HDF5 layout `import_keras_weights` reads (full-model style)."""
    h5py = _h5py()
    with h5py.File(os.fspath(h5_path), "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.2.4"
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = np.array([n.encode() for n in LAYER_NAMES])
        for layer in LAYER_NAMES:
            conv = getattr(net, layer)
            kernel = conv.weight.detach().cpu().float().numpy().transpose(2, 3, 1, 0)
            skip = _skip_width(layer, net)
            if skip is not None and concat_order == "skip_first":
                # inverse of the import swap: the skip block (last `skip` channels) goes first
                kernel = _swap_blocks(kernel, kernel.shape[2] - skip)
            group = weights.create_group(layer)
            names = [f"{MODEL_NAME}/{layer}/kernel:0", f"{MODEL_NAME}/{layer}/bias:0"]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            group.create_dataset(names[0], data=np.ascontiguousarray(kernel))
            group.create_dataset(names[1], data=conv.bias.detach().cpu().float().numpy())


def load_generator(
    checkpoint: Mapping[str, Any], *, device: str | torch.device = "cpu"
) -> RegionUNet:
    """A RegionUNet in eval mode on `device` from a training checkpoint dict (its "model" entry)
    or a bare generator state dict."""
    state = checkpoint["model"] if "model" in checkpoint else checkpoint
    net = RegionUNet()
    net.load_state_dict(state)
    return net.to(device).eval()
