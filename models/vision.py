"""torchvision, importable beside a CPU-only torch build.

Why this exists: the torch pinned here (2.13.0) is, on this project's build machines, a CPU-only
wheel (`2.13.0+cpu`), while PyPI's `torchvision==0.28.0` for Linux x86_64 is the CUDA build
(`0.28.0+cu130`): its `_C.so` links `libtorch_cuda.so` and `libc10_cuda.so`, which a CPU torch
does not ship, so the extension fails to load and `import torchvision` then dies in
`_meta_registrations.py` with "operator torchvision::nms does not exist" (0.28 registers fake
kernels for `nms`/`qnms` unconditionally). Everything Mask R-CNN needs from the extension is two
operators: `roi_align`, for which torchvision already falls back to its own pure-PyTorch
`_roi_align` when the extension is missing (wrapped in a lazy `torch.compile`, which we undo:
compiling costs minutes of CPU and a C++ compiler; for a fixed sampling ratio we use
`roi_align_grid`, several times faster), and `nms`, which has no fallback.

`import_torchvision()` therefore first tries to load the extension exactly as torchvision would.
If it loads (a CUDA torch from PyPI, a matching CPU torchvision, the GPU machines), torchvision is
imported untouched and its native kernels run. If not, it defines the `torchvision::nms` and
`torchvision::qnms` schemas with a pure-PyTorch greedy NMS before importing torchvision, and lets
`torchvision.ops.nms` call it. Everything else in torchvision that needs the extension (deformable
convs, roi_pool, the video/image decoders) still raises torchvision's own "Couldn't load custom
C++ ops" error: regionflow does not use them.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

_FALLBACK: torch.library.Library | None = None
# None until import_torchvision() has run; then whether torchvision's own kernels are in use.
NATIVE_OPS: bool | None = None


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression, torchvision's semantics, in plain PyTorch.

    boxes (N, 4) float x1, y1, x2, y2; scores (N,) float. Returns the int64 indices kept, by
    decreasing score (ties in input order). A box is dropped when its IoU with a kept,
    higher-scoring box is > iou_threshold.
    """
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes: expected (N, 4), got {tuple(boxes.shape)}")
    if scores.ndim != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"scores: expected ({boxes.shape[0]},), got {tuple(scores.shape)}")
    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int64, device=boxes.device)
    order = torch.argsort(scores, descending=True, stable=True)
    b = boxes[order].float()
    area = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.maximum(b[:, None, :2], b[None, :, :2])
    rb = torch.minimum(b[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=-1)
    iou = inter / (area[:, None] + area[None, :] - inter).clamp(min=torch.finfo(b.dtype).tiny)
    suppresses = (iou > iou_threshold).triu(diagonal=1).cpu().numpy()
    keep = np.ones(b.shape[0], dtype=bool)
    for i in range(b.shape[0]):  # greedy by nature; N is a few hundred boxes per level here
        if keep[i]:
            keep[i + 1 :] &= ~suppresses[i, i + 1 :]
    return order[torch.from_numpy(keep).to(order.device)]


def roi_align_grid(
    features: torch.Tensor,
    rois: torch.Tensor,
    spatial_scale: float,
    pooled_height: int,
    pooled_width: int,
    sampling_ratio: int,
    aligned: bool,
) -> torch.Tensor:
    """torchvision's RoIAlign through `grid_sample` (sampling_ratio <= 0: adaptive, per RoI).

    features (N, C, H, W); rois (K, 5) = batch index, x1, y1, x2, y2. Returns (K, C, ph, pw).
    Same sample points and border rule as torchvision's kernel (a point more than one pixel
    outside counts 0, one within a pixel of the border reads the border): bilinear with
    align_corners=True and border padding is exactly that. One grid_sample per image, so
    forward and backward run in PyTorch's native kernels instead of the gathers of
    torchvision's pure-PyTorch fallback (several times faster on the CPU).
    """
    n, channels, height, width = features.shape
    k, ph, pw = rois.shape[0], pooled_height, pooled_width
    out = features.new_zeros((k, channels, ph, pw))
    if k == 0:
        return out
    dtype, device = features.dtype, rois.device
    offset = 0.5 if aligned else 0.0
    boxes = rois[:, 1:].to(dtype) * spatial_scale - offset
    x1, y1, x2, y2 = boxes.unbind(dim=1)
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_h, bin_w = roi_h / ph, roi_w / pw
    if sampling_ratio > 0:
        grid_h = grid_w = torch.full((k,), float(sampling_ratio), dtype=dtype, device=device)
    else:  # adaptive: ceil(roi / pooled) samples per bin, per RoI; pad to the largest, mask
        grid_h, grid_w = torch.ceil(bin_h), torch.ceil(bin_w)
    sy, sx = max(int(grid_h.max()), 1), max(int(grid_w.max()), 1)
    iy = torch.arange(sy, device=device, dtype=dtype)
    ix = torch.arange(sx, device=device, dtype=dtype)
    rows = torch.arange(ph, device=device, dtype=dtype)
    cols = torch.arange(pw, device=device, dtype=dtype)
    ys = y1[:, None, None] + rows[None, :, None] * bin_h[:, None, None]
    ys = ys + (iy[None, None, :] + 0.5) * (bin_h / grid_h)[:, None, None]  # (K, ph, sy)
    xs = x1[:, None, None] + cols[None, :, None] * bin_w[:, None, None]
    xs = xs + (ix[None, None, :] + 0.5) * (bin_w / grid_w)[:, None, None]  # (K, pw, sx)
    valid_y = (ys >= -1) & (ys <= height) & (iy[None, None, :] < grid_h[:, None, None])
    valid_x = (xs >= -1) & (xs <= width) & (ix[None, None, :] < grid_w[:, None, None])
    valid = valid_y.reshape(k, -1)[:, :, None] & valid_x.reshape(k, -1)[:, None, :]
    count = (grid_h * grid_w).clamp(min=1)
    gy = ys.reshape(k, -1) / max(height - 1, 1) * 2 - 1
    gx = xs.reshape(k, -1) / max(width - 1, 1) * 2 - 1
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)
    index = rois[:, 0].long()
    for b in index.unique().tolist():
        chosen = torch.nonzero(index == b).squeeze(1)
        g = grid[chosen].reshape(1, -1, pw * sx, 2)  # (1, k_b*ph*sy, pw*sx, 2)
        sampled = torch.nn.functional.grid_sample(
            features[b : b + 1], g, mode="bilinear", padding_mode="border", align_corners=True
        )
        sampled = sampled.reshape(channels, len(chosen), ph * sy, pw * sx).transpose(0, 1)
        sampled = sampled * valid[chosen, None].to(sampled.dtype)
        pooled = sampled.reshape(len(chosen), channels, ph, sy, pw, sx).sum(dim=(3, 5))
        out = out.index_copy(0, chosen, pooled / count[chosen, None, None, None])
    return out


def _roi_align_fallback(eager, features, rois, spatial_scale, ph, pw, sampling_ratio, aligned):
    """`roi_align_grid` in place of torchvision's pure-PyTorch RoIAlign (`eager`, kept for
    reference: its index gathers cost ~50 s per step on the mask targets at 128 px)."""
    return roi_align_grid(features, rois, spatial_scale, ph, pw, sampling_ratio, aligned)


def _no_qnms(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    raise NotImplementedError("torchvision::qnms: quantized NMS needs torchvision's C++ ops")


def _extension_loads() -> bool:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("torchvision is not installed (pip install torchvision==0.28.0)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    libraries = sorted(folder.glob("_C.*so")) + sorted(folder.glob("_C.*pyd"))
    if not libraries:
        return False
    try:
        torch.ops.load_library(str(libraries[0]))
    except (OSError, RuntimeError):
        return False
    return True


def import_torchvision() -> ModuleType:
    """`import torchvision`, with the pure-PyTorch NMS where the C++ extension cannot load."""
    global _FALLBACK, NATIVE_OPS
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    NATIVE_OPS = _extension_loads()
    if not NATIVE_OPS and _FALLBACK is None:
        library = torch.library.Library("torchvision", "DEF")
        library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        library.impl("nms", nms, "CompositeExplicitAutograd")
        library.impl("qnms", _no_qnms, "CompositeExplicitAutograd")
        _FALLBACK = library
    import torchvision
    import torchvision.ops.boxes

    if not NATIVE_OPS:
        # ops.boxes.nms asserts the extension before calling torch.ops.torchvision.nms; ours
        # is registered, so skip the assertion for the functions that only need nms.
        torchvision.ops.boxes._assert_has_ops = _assert_nms_only
        # torchvision wraps its pure-PyTorch RoIAlign in a lazy torch.compile: on first call
        # Inductor generates and builds C++ kernels (minutes of CPU, a compiler needed) and
        # recompiles for new shapes. Eager is what a fallback should be.
        # (the module, not the function torchvision.ops re-exports under the same name)
        roi_align = sys.modules["torchvision.ops.roi_align"]
        eager = getattr(roi_align._roi_align, "__wrapped__", roi_align._roi_align)
        roi_align._roi_align = functools.partial(_roi_align_fallback, eager)
    return torchvision


def _assert_nms_only() -> None:
    """torchvision.ops.boxes' extension check, satisfied by the pure-PyTorch nms/qnms schemas."""
