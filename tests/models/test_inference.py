import cv2
import numpy as np
import pytest
import torch

from regionflow.models.config import InferenceConfig
from regionflow.models.inference import (
    _apply,
    _invert,
    blend_weights,
    dihedral_variants,
    pad_to_multiple,
    predict_net_output,
    predict_skeleton,
    tile_starts,
)
from regionflow.models.unet import RegionUNet

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return RegionUNet().eval()


def _page(h, w, seed=0):
    """White page with random flat-colour rectangles: structure at several scales."""
    rng = np.random.default_rng(seed)
    page = np.full((h, w, 3), 255, np.uint8)
    for _ in range(max(4, h * w // 2000)):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        dx, dy = (int(v) for v in rng.integers(8, 80, 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(page, (x, y), (x + dx, y + dy), colour, -1)
    return page


def test_tiles_cover_and_align():
    assert tile_starts(96, 128, 32) == [0]
    assert tile_starts(320, 128, 64) == [0, 64, 128, 192]
    starts = tile_starts(352, 128, 32)
    assert starts[0] == 0 and starts[-1] + 128 == 352
    assert all(b - a <= 128 - 32 for a, b in zip(starts, starts[1:], strict=False))


@pytest.mark.parametrize(
    ("length", "tile", "overlap"), [(320, 128, 64), (352, 128, 32), (96, 96, 32)]
)
def test_blend_weights_sum_to_one(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    total = np.zeros(length)
    for start, w in zip(starts, blend_weights(starts, tile), strict=True):
        total[start : start + tile] += w
        assert w.min() > 0
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_dihedral_variants_invert_and_are_distinct():
    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    for tta in (1, 4, 8):
        variants = dihedral_variants(tta)
        assert len(set(variants)) == tta
        images = {
            tuple(_apply(x, v).flatten().tolist()) + tuple(_apply(x, v).shape) for v in variants
        }
        assert len(images) == tta
        for v in variants:
            assert torch.equal(_invert(_apply(x, v), v), x)
    with pytest.raises(ValueError, match="tta"):
        dihedral_variants(2)


def test_pad_to_multiple_mirrors():
    image = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    padded = pad_to_multiple(image)
    assert padded.shape == (32, 32, 3)
    np.testing.assert_array_equal(padded[:5, :7], image)
    np.testing.assert_array_equal(padded[5, :7], image[4])  # BORDER_REFLECT repeats the edge row
    np.testing.assert_array_equal(padded[:5, 7], image[:, 6])


def test_single_tile_is_exactly_the_net(net):
    page = _page(64, 96)
    skeleton = predict_skeleton(
        net, page, config=InferenceConfig(short_side=None, tile=128, overlap=32)
    )
    with torch.no_grad():
        x = torch.from_numpy(page).permute(2, 0, 1)[None].float() / 255
        expected = ((1 - net(x)).clamp(0, 1) * 255 + 0.5).to(torch.uint8)[0, 0].numpy()
    np.testing.assert_array_equal(skeleton, expected)


def test_tiled_equals_whole_image_away_from_borders(net):
    page = _page(192, 320, seed=1)
    whole = predict_net_output(net, page, config=InferenceConfig(tile=512, overlap=0), device=CPU)
    tiled = predict_net_output(
        net, page, config=InferenceConfig(tile=128, overlap=64, batch=1), device=CPU
    )
    spread = whole.std()
    assert spread > 1e-3  # the random net's output has structure to compare
    inner = np.abs(tiled - whole)[16:-16, 16:-16]
    assert inner.max() < 0.1 * spread
    assert inner.mean() < 0.01 * spread


def test_tta_averages_the_dihedral_predictions(net):
    page = _page(64, 96, seed=2)
    config = InferenceConfig(short_side=None, tile=128, overlap=32)
    with torch.no_grad():
        x = torch.from_numpy(page).permute(2, 0, 1)[None].float() / 255
        expected = sum(_invert(net(_apply(x, v)), v) for v in dihedral_variants(8)) / 8
    got = predict_net_output(net, page, config=config.replace(tta=8), device=CPU)
    np.testing.assert_allclose(got, expected[0, 0].numpy(), atol=1e-5)
    plain = predict_net_output(net, page, config=config, device=CPU)
    assert not np.allclose(got, plain, atol=1e-5)


def test_output_is_at_input_size_and_input_untouched(net):
    page = _page(37, 53, seed=3)
    before = page.copy()
    skeleton = predict_skeleton(
        net, page, config=InferenceConfig(short_side=64, tile=64, overlap=32, tta=4)
    )
    assert skeleton.shape == (37, 53) and skeleton.dtype == np.uint8
    np.testing.assert_array_equal(page, before)


def test_a_page_within_one_batchs_pixels_runs_whole(net, monkeypatch):
    import regionflow.models.inference as inference

    seen = []
    real_chunks = inference._chunks
    monkeypatch.setattr(
        inference,
        "_chunks",
        lambda items, size: (seen.append(len(items)), real_chunks(items, size))[1],
    )
    page = _page(192, 320, seed=1)  # 61,440 px
    config = InferenceConfig(tile=128, overlap=32, batch=4)  # 65,536 px per batch
    whole = predict_net_output(net, page, config=config, device=CPU)
    alone = predict_net_output(net, page, config=InferenceConfig(tile=512, overlap=0), device=CPU)
    np.testing.assert_allclose(whole, alone, atol=1e-6)
    predict_net_output(net, page, config=InferenceConfig(tile=128, overlap=64, batch=1), device=CPU)
    assert seen[:2] == [1, 1]  # whole, in one pass, both times
    assert seen[2] > 1  # batch 1: 16,384 px per batch, so tiled


def test_long_strip_runs_tiled(net):
    strip = _page(1000, 20000, seed=4)
    config = InferenceConfig(short_side=64, tile=128, overlap=32, batch=8)
    skeleton = predict_skeleton(net, strip, config=config)
    assert skeleton.shape == (1000, 20000)


def test_bad_arguments_are_named(net):
    with pytest.raises(ValueError, match="image"):
        predict_skeleton(net, np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="image"):
        predict_skeleton(net, np.zeros((0, 8, 3), np.uint8))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device"):
            predict_skeleton(net, np.zeros((8, 8, 3), np.uint8), device="cuda")


@pytest.mark.gpu
def test_cuda_matches_cpu(net):
    page = _page(256, 384, seed=5)
    config = InferenceConfig(short_side=None, tile=256, overlap=64, tta=4)
    on_cpu = predict_skeleton(net, page, config=config)
    gpu_net = RegionUNet().eval()
    gpu_net.load_state_dict(net.state_dict())
    gpu_net.to("cuda")
    on_gpu = predict_skeleton(gpu_net, page, config=config)
    assert np.abs(on_cpu.astype(int) - on_gpu.astype(int)).max() <= 3  # bf16 autocast
