import h5py
import numpy as np
import pytest
import torch

from regionflow.models.unet import LAYER_NAMES, RegionUNet
from regionflow.models.weights import export_keras_weights, import_keras_weights, load_generator


def _net(seed):
    torch.manual_seed(seed)
    net = RegionUNet().eval()
    with torch.no_grad():  # non-zero biases too, so a dropped bias would show
        for name in LAYER_NAMES:
            getattr(net, name).bias.uniform_(-0.05, 0.05)
    return net


def _outputs_match(a, b):
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return torch.allclose(a(x), b(x), atol=1e-5, rtol=0)


def test_layout_is_the_keras_one(tmp_path):
    path = tmp_path / "model.h5"
    export_keras_weights(_net(0), path)
    with h5py.File(path, "r") as f:
        kernel = f["model_weights/c512_c1/generator/c512_c1/kernel:0"]
        assert kernel.shape == (3, 3, 3, 16)  # HWIO
        assert f["model_weights/d512_c1/generator/d512_c1/kernel:0"].shape == (3, 3, 48, 16)
        assert f["model_weights/op/generator/op/bias:0"].shape == (1,)
        assert [n.decode() for n in f["model_weights"].attrs["layer_names"]] == list(LAYER_NAMES)


@pytest.mark.parametrize("order", ["upsampled_first", "skip_first"])
def test_round_trip_gives_the_same_outputs(tmp_path, order):
    source, target = _net(0), _net(1)
    assert not _outputs_match(source, target)
    path = tmp_path / "model.h5"
    export_keras_weights(source, path, concat_order=order)
    assert import_keras_weights(path, target, concat_order=order) is target
    assert _outputs_match(source, target)
    for name, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], value)


def test_wrong_concat_order_changes_the_decoder(tmp_path):
    source, target = _net(0), _net(1)
    path = tmp_path / "model.h5"
    export_keras_weights(source, path, concat_order="skip_first")
    import_keras_weights(path, target)  # read as upsampled-first
    assert torch.equal(target.c512_c1.weight, source.c512_c1.weight)
    assert not torch.equal(target.d32_c1.weight, source.d32_c1.weight)


def test_save_weights_layout_without_model_weights_group(tmp_path):
    source, target = _net(0), _net(1)
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        for name in LAYER_NAMES:
            conv = getattr(source, name)
            f[f"{name}/{name}/kernel:0"] = conv.weight.detach().numpy().transpose(2, 3, 1, 0)
            f[f"{name}/{name}/bias:0"] = conv.bias.detach().numpy()
    import_keras_weights(path, target)
    assert _outputs_match(source, target)


def test_missing_or_misshapen_layers_are_named(tmp_path):
    path = tmp_path / "model.h5"
    export_keras_weights(_net(0), path)
    with h5py.File(path, "a") as f:
        del f["model_weights/op/generator/op/bias:0"]
        f["model_weights/op/generator/op/bias:0"] = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match="'op'"):
        import_keras_weights(path, _net(1))
    with h5py.File(path, "a") as f:
        del f["model_weights/c64_c2"]
    with pytest.raises(ValueError, match="'c64_c2' missing"):
        import_keras_weights(path, _net(1))
    with pytest.raises(ValueError, match="concat_order"):
        import_keras_weights(path, _net(1), concat_order="sideways")  # type: ignore[arg-type]


def test_load_generator_from_checkpoint_or_state_dict():
    source = _net(0)
    for checkpoint in ({"model": source.state_dict(), "step": 3}, source.state_dict()):
        assert _outputs_match(source, load_generator(checkpoint).eval())
