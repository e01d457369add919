"""The shipped region model: present, small, the file its manifest and model card name, verified."""

import hashlib
import shutil

import pytest
import torch

from regionflow.models.unet import RegionUNet
from regionflow.models.weights import load_generator
from regionflow.storage import model_zoo
from regionflow.storage.model_zoo import (
    DamagedModelError,
    default_manifest,
    default_model_path,
    read_default_model,
    read_model,
)
from tests.conftest import FIXTURES

DOCS = FIXTURES.parents[1] / "docs"


def test_shipped_weights_are_half_precision_small_and_load_into_the_unet():
    path = default_model_path()
    assert path.stat().st_size < 20 * 1024 * 1024
    checkpoint = read_default_model()
    assert all(v.dtype == torch.float16 for v in checkpoint["model"].values())
    net = load_generator(checkpoint)
    assert sum(p.numel() for p in net.parameters()) == 7_862_529
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert isinstance(net, RegionUNet)


def test_the_file_is_the_one_the_manifest_and_model_card_name():
    data = default_model_path().read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    manifest = default_manifest()
    assert manifest["sha256"] == sha and manifest["bytes"] == len(data)
    assert sha in (DOCS / "model_card.md").read_text()


def test_default_and_none_name_the_shipped_model():
    a, b = read_model(None), read_model("default")
    assert a["model"].keys() == b["model"].keys()


def test_a_damaged_file_is_refused_with_a_clear_error(tmp_path, monkeypatch):
    zoo = tmp_path / "zoo"
    shutil.copytree(model_zoo.zoo_folder(), zoo)
    weights = zoo / default_manifest()["file"]
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(model_zoo, "zoo_folder", lambda: zoo)
    with pytest.raises(DamagedModelError, match="damaged or was replaced"):
        read_default_model()
    weights.unlink()
    with pytest.raises(FileNotFoundError, match="shipped model is missing"):
        read_default_model()
