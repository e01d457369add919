import math

import pytest
import torch
import torch.nn.functional as F

from regionflow.models.unet import (
    LAYER_NAMES,
    N_PARAMETERS,
    RegionUNet,
    check_input_shape,
    count_parameters,
    high_pass,
    padded_size,
)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return RegionUNet()


def test_parameter_count_is_the_published_one(net):
    assert count_parameters(net) == N_PARAMETERS == 7_862_529


def test_23_convs_named_like_the_keras_layers(net):
    convs = [name for name, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == list(LAYER_NAMES)
    assert len(convs) == 23
    assert LAYER_NAMES[:2] == ("c512_c1", "c512_c2") and LAYER_NAMES[11] == "c16_c2"
    assert LAYER_NAMES[12] == "d32_c1" and LAYER_NAMES[-2:] == ("d512_c2", "op")
    widths = [getattr(net, f"c{512 >> i}_c2").out_channels for i in range(6)]
    assert widths == [16, 32, 64, 128, 256, 512]
    assert [getattr(net, f"d{32 << i}_c2").out_channels for i in range(5)] == [256, 128, 64, 32, 16]
    assert net.op.out_channels == 1


def test_glorot_uniform_kernels_and_zero_biases(net):
    for name in LAYER_NAMES:
        conv = getattr(net, name)
        assert torch.count_nonzero(conv.bias) == 0
        fan_in = conv.in_channels * 9
        fan_out = conv.out_channels * 9
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert conv.weight.abs().max() <= bound
        if conv.weight.numel() > 10_000:  # enough samples for the uniform's std bound/√3
            assert conv.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_output_shape_non_square(net):
    x = torch.rand(2, 3, 64, 96)
    assert net(x).shape == (2, 1, 64, 96)


def test_shape_check_says_how_to_pad(net):
    with pytest.raises(ValueError, match=r"64×96"):
        net(torch.rand(1, 3, 50, 70))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        check_input_shape(torch.rand(1, 1, 64, 64))
    assert padded_size(50, 70) == (64, 96)
    assert padded_size(64, 32) == (64, 32)


def test_high_pass_removes_the_pooled_part():
    blocky = torch.rand(1, 2, 4, 4).repeat_interleave(2, -1).repeat_interleave(2, -2)
    assert torch.allclose(high_pass(blocky), torch.zeros_like(blocky))
    x = torch.rand(1, 2, 8, 8)
    assert torch.allclose(F.avg_pool2d(high_pass(x), 2), torch.zeros(1, 2, 4, 4), atol=1e-6)


def test_skips_carry_high_pass_of_the_level_output(net):
    seen = {}

    def keep(key, pick):
        def hook(module, inputs, output):
            seen[key] = pick(inputs, output)  # returns None: the output is left alone

        return hook

    handles = [
        net.c512_c2.register_forward_hook(keep("level", lambda i, o: F.relu(o))),
        net.d512_c1.register_forward_hook(keep("decoder_in", lambda i, o: i[0])),
    ]
    try:
        net(torch.rand(1, 3, 64, 64))
    finally:
        for handle in handles:
            handle.remove()
    # d512_c1 sees [upsampled d256 output (32 ch), skip of the 16-wide full-resolution level]
    assert seen["decoder_in"].shape[1] == 48
    upsampled, skip = seen["decoder_in"][:, :32], seen["decoder_in"][:, 32:]
    assert torch.allclose(skip, high_pass(seen["level"]), atol=1e-6)
    # the other half is a nearest-upsampled coarser map: constant on 2×2 blocks
    assert torch.equal(upsampled[..., ::2, ::2], upsampled[..., 1::2, 1::2])


def test_predict_is_one_minus_net_clipped_without_grad(net):
    torch.manual_seed(1)
    x = torch.rand(1, 3, 32, 64)
    before = x.clone()
    skeleton = net.predict(x)
    assert torch.equal(x, before)
    assert skeleton.is_inference() and not skeleton.requires_grad
    with torch.no_grad():
        expected = (1 - net(x)).clamp(0, 1)
    assert torch.allclose(skeleton, expected)
    assert skeleton.min() >= 0 and skeleton.max() <= 1
