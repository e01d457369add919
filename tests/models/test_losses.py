import pytest
import torch
from torch import nn

from regionflow.models.critic import Critic
from regionflow.models.losses import (
    critic_danbooregion,
    generator_danbooregion,
    generator_loss,
    gradient_penalty,
    l1,
)


class Quadratic(nn.Module):
    """A stand-in critic: score map = x², features = [x, 2x, …]; gradients known in closed form."""

    def forward(self, x):
        return [x * (k + 1) for k in range(6)], x * x


@pytest.fixture(scope="module")
def critic():
    torch.manual_seed(0)
    return Critic()


def test_gradient_penalty_is_taken_at_the_fakes():
    fake = torch.full((2, 1, 4, 4), 0.25)
    # ∇ Σ x² = 2x → ‖·‖ = 2·0.25·√16 = 2 → (2 − 1)² = 1
    assert gradient_penalty(Quadratic(), fake).item() == pytest.approx(1.0)
    fake = torch.full((2, 1, 4, 4), 0.125)  # ‖·‖ = 1 → 0
    assert gradient_penalty(Quadratic(), fake).item() == pytest.approx(0.0)


def test_critic_loss_formula():
    fake = torch.full((1, 1, 4, 4), 0.25)
    real = torch.full((1, 1, 4, 4), 0.5)
    loss, parts = critic_danbooregion(Quadratic(), fake, real, gp_weight=10.0)
    # mean(0.0625) − mean(0.25) + 10·(2·0.25·4 − 1)²
    assert parts["wasserstein"].item() == pytest.approx(0.0625 - 0.25)
    assert loss.item() == pytest.approx(0.0625 - 0.25 + 10.0)


def test_generator_loss_formula():
    fake = torch.full((1, 1, 4, 4), 0.25, requires_grad=True)
    real = torch.full((1, 1, 4, 4), 0.5)
    loss, parts = generator_danbooregion(Quadratic(), fake, real, adv_weight=0.01)
    matching = sum((k + 1) * 0.25 for k in range(6))
    assert parts["feature_matching"].item() == pytest.approx(matching)
    assert loss.item() == pytest.approx(matching + 0.01 * -0.0625)
    loss.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_feature_matching_vanishes_on_identical_maps(critic):
    x = torch.rand(2, 1, 64, 64)
    loss, parts = generator_danbooregion(critic, x, x.clone())
    assert parts["feature_matching"].item() == 0.0
    with torch.no_grad():
        _, score = critic(x)
    assert loss.item() == pytest.approx(0.01 * -score.mean().item(), rel=1e-5)


def test_named_losses(critic):
    torch.manual_seed(0)
    fake, real = torch.rand(1, 1, 64, 64), torch.rand(1, 1, 64, 64)
    only_l1, parts = generator_loss("l1", None, fake, real)
    assert (
        only_l1.item() == pytest.approx(l1(fake, real).item()) == pytest.approx(parts["l1"].item())
    )
    gan, _ = generator_loss("danbooregion", critic, fake, real)
    both, parts = generator_loss("l1+gan", critic, fake, real, l1_weight=2.0)
    assert both.item() == pytest.approx(gan.item() + 2.0 * only_l1.item(), rel=1e-5)
    assert set(parts) == {"l1", "feature_matching", "adversarial"}
    with pytest.raises(ValueError, match="critic"):
        generator_loss("danbooregion", None, fake, real)
    with pytest.raises(ValueError, match="name"):
        generator_loss("mse", critic, fake, real)
