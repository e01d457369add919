"""Mask R-CNN for parts: torchvision beside the CPU torch, NMS fallback, exact resume, transfer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from regionflow.models.parts import (
    PartsSample,
    PartsTrainConfig,
    batch_for_step,
    build_parts_model,
    fit_parts,
    predict,
    runtime_for,
    transfer_weights,
)
from regionflow.models.vision import import_torchvision, nms, roi_align_grid
from regionflow.regions.parts.parts_synth import draw_character
from regionflow.storage.checkpoints import CheckpointStore

TINY = PartsTrainConfig(
    image_size=64,
    width=8,
    fpn_channels=16,
    steps=3,
    batch_size=1,
    lr=0.01,
    warmup=2,
    checkpoint_every=1,
    device="cpu",
)


def _samples(n: int = 2, style: str = "A") -> list[PartsSample]:
    out = []
    for seed in range(n):
        image, parts = draw_character(seed, style=style, size=64)
        out.append(
            PartsSample(
                image, np.stack([p.mask for p in parts]), np.array([p.class_index for p in parts])
            )
        )
    return out


def _reference_nms(boxes, scores, threshold):
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    keep = []
    for i in order:
        ok = True
        for j in keep:
            x1, y1 = max(boxes[i][0], boxes[j][0]), max(boxes[i][1], boxes[j][1])
            x2, y2 = min(boxes[i][2], boxes[j][2]), min(boxes[i][3], boxes[j][3])
            inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
            area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
            if inter / (area(boxes[i]) + area(boxes[j]) - inter) > threshold:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


def test_torchvision_imports_and_nms_matches_a_reference():
    tv = import_torchvision()
    generator = torch.Generator().manual_seed(0)
    corner = torch.rand(200, 2, generator=generator) * 100
    boxes = torch.cat([corner, corner + 5 + torch.rand(200, 2, generator=generator) * 30], dim=1)
    scores = torch.rand(200, generator=generator)
    expected = _reference_nms(boxes.tolist(), scores.tolist(), 0.5)
    assert nms(boxes, scores, 0.5).tolist() == expected
    assert tv.ops.nms(boxes, scores, 0.5).tolist() == expected
    assert (
        tv.ops.batched_nms(boxes, scores, torch.zeros(200, dtype=torch.int64), 0.5).tolist()
        == expected
    )
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).numel() == 0


def test_fallback_roi_align_runs_eagerly():
    """Without the C++ ops, torchvision's RoIAlign fallback must not go through torch.compile."""
    from regionflow.models import vision

    tv = import_torchvision()
    if vision.NATIVE_OPS:
        pytest.skip("torchvision's C++ ops load here")
    import sys

    fallback = sys.modules["torchvision.ops.roi_align"]._roi_align
    assert not hasattr(fallback, "__wrapped__")  # not the lazily torch.compile'd wrapper
    assert not hasattr(getattr(fallback, "args", (None,))[0], "__wrapped__")
    features = torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(1, 2, 8, 8)
    boxes = torch.tensor([[0.0, 0.0, 0.0, 4.0, 4.0]])
    out = tv.ops.roi_align(
        features, boxes, (2, 2), spatial_scale=1.0, sampling_ratio=1, aligned=False
    )
    assert out.shape == (1, 2, 2, 2)
    assert out[0, 0, 0, 0] == pytest.approx(features[0, 0, 1, 1])


def test_model_builds_without_downloads_and_trains_on_a_batch():
    torch.manual_seed(0)
    model = build_parts_model(TINY)
    images, targets = batch_for_step(_samples(), 0, TINY.replace(batch_size=2))
    losses = model(images, targets)
    assert set(losses) == {
        "loss_classifier",
        "loss_box_reg",
        "loss_mask",
        "loss_objectness",
        "loss_rpn_box_reg",
    }
    sum(losses.values()).backward()
    out = predict(model, [_samples(1)[0].image], runtime=runtime_for(TINY), score_threshold=0.0)[0]
    assert out["masks"].dtype == bool and out["masks"].shape[1:] == (64, 64)
    assert len(out["masks"]) == len(out["classes"]) == len(out["scores"])


def test_batches_are_a_function_of_seed_and_step():
    samples = _samples(3)
    a = batch_for_step(samples, 5, TINY.replace(batch_size=2))
    b = batch_for_step(samples, 5, TINY.replace(batch_size=2))
    assert all(torch.equal(x, y) for x, y in zip(a[0], b[0], strict=True))


def test_config_rejects_bad_fields():
    with pytest.raises(ValueError, match="image_size"):
        PartsTrainConfig(image_size=32)
    with pytest.raises(ValueError, match="multiples of 8"):
        PartsTrainConfig(width=12)
    assert PartsTrainConfig.from_dict(TINY.to_dict()) == TINY


@pytest.mark.slow
def test_resume_continues_exactly(tmp_path):
    samples = _samples()
    straight, _ = fit_parts(TINY, samples, checkpoints=CheckpointStore(tmp_path / "a"))
    stopped = CheckpointStore(tmp_path / "b")
    fit_parts(TINY.replace(steps=2), samples, checkpoints=stopped)
    assert stopped.steps() == [1, 2]
    resumed, step = fit_parts(TINY, samples, checkpoints=stopped)
    assert step == 3
    for (name, a), b in zip(
        straight.state_dict().items(), resumed.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name


def test_transfer_keeps_matching_weights_and_leaves_new_heads_fresh():
    torch.manual_seed(0)
    source = build_parts_model(TINY).state_dict()
    torch.manual_seed(1)
    target = build_parts_model(TINY.replace(classes=("hair", "tie")))
    fresh = transfer_weights(target, source)
    assert fresh and all("predictor" in name for name in fresh)
    assert torch.equal(
        target.state_dict()["backbone.stem.0.weight"], source["backbone.stem.0.weight"]
    )


@pytest.mark.parametrize(("aligned", "ratio"), [(False, 2), (True, 2), (False, -1), (True, -1)])
def test_grid_roi_align_matches_torchvisions_pure_pytorch_one(aligned, ratio):
    """Inside the map (where torchvision's C++ kernel and its Python fallback agree)."""
    import sys

    from torchvision.ops.roi_align import _bilinear_interpolate  # noqa: F401  (module loaded)

    import_torchvision()
    module = sys.modules["torchvision.ops.roi_align"]
    eager = getattr(module._roi_align, "args", (module._roi_align,))[0]
    eager = getattr(eager, "__wrapped__", eager)
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(3, 4, 20, 24, generator=generator, requires_grad=True)
    corner = torch.rand(30, 2, generator=generator) * torch.tensor([20.0, 16.0]) + 2
    size = torch.rand(30, 2, generator=generator) * 12 + 0.3
    batch = torch.randint(0, 3, (30, 1), generator=generator).float()
    rois = torch.cat([batch, corner, corner + size], dim=1)
    expected = eager(features, rois, 0.5, 7, 7, ratio, aligned)
    got = roi_align_grid(features, rois, 0.5, 7, 7, ratio, aligned)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    (grad_expected,) = torch.autograd.grad(expected.sum(), features)
    (grad_got,) = torch.autograd.grad(got.sum(), features)
    torch.testing.assert_close(grad_got, grad_expected, atol=1e-4, rtol=1e-4)
