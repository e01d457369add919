import pytest
import torch

from regionflow.models.critic import Critic


@pytest.fixture(scope="module")
def critic():
    torch.manual_seed(0)
    return Critic()


def test_512_crop_gives_8x8_score_and_six_feature_levels(critic):
    with torch.no_grad():
        features, score = critic(torch.rand(1, 1, 512, 512))
    assert score.shape == (1, 1, 8, 8)
    assert [f.shape[1:] for f in features] == [
        (32, 256, 256),
        (64, 128, 128),
        (128, 64, 64),
        (256, 32, 32),
        (512, 16, 16),
        (512, 8, 8),
    ]


def test_structure_and_init(critic):
    convs = [m for m in critic.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 + 2 * 6 + 1
    assert [c.kernel_size for c in convs[1:13:2]] == [(4, 4)] * 6
    assert all(c.stride == (2, 2) for c in convs[1:13:2])
    assert all(torch.count_nonzero(c.bias) == 0 for c in convs)


def test_leaky_features_have_negative_values(critic):
    with torch.no_grad():
        features, _ = critic(torch.rand(2, 1, 64, 64) - 0.5)
    assert all(f.min() < 0 for f in features)  # LeakyReLU, not ReLU
    assert features[-1].shape == (2, 512, 1, 1)


def test_bad_shape_is_named(critic):
    with pytest.raises(ValueError, match="multiples of 64"):
        critic(torch.rand(1, 1, 96, 64))
    with pytest.raises(ValueError, match="x: expected"):
        critic(torch.rand(1, 3, 64, 64))
