"""Training losses: DanbooRegion's feature-matching WGAN-GP, plain L1, and L1 + GAN.

All maps live in the generator's output space, `1 − skeleton/255`, shape (N, 1, H, W).
"""

from __future__ import annotations

import torch

from regionflow.models.critic import Critic


def l1(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean absolute pixel error."""
    return (fake.float() - real.float()).abs().mean()


def generator_danbooregion(
    critic: Critic, fake: torch.Tensor, real: torch.Tensor, *, adv_weight: float = 0.01
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Σ over the critic's 6 levels of mean |D_l(real) − D_l(fake)| + adv_weight · mean(−D(fake)).

    Gradients reach `fake` (and the critic's parameters, which the caller must not step with
    them). Returns the loss and its parts (detached) for logging.
    """
    with torch.no_grad():
        real_features, _ = critic(real)
    fake_features, fake_score = critic(fake)
    matching = sum(
        (r.float() - f.float()).abs().mean()
        for r, f in zip(real_features, fake_features, strict=True)
    )
    adversarial = -fake_score.float().mean()
    loss = matching + adv_weight * adversarial
    return loss, {"feature_matching": matching.detach(), "adversarial": adversarial.detach()}


def _penalty(score: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    (grad,) = torch.autograd.grad(score.float().sum(), fake, create_graph=True)
    norms = grad.float().flatten(1).norm(dim=1)
    return ((norms - 1.0) ** 2).mean()


def gradient_penalty(critic: Critic, fake: torch.Tensor) -> torch.Tensor:
    """mean over samples of (‖∇_fake Σ D(fake)‖₂ − 1)², taken at the fake samples themselves
    (DanbooRegion's choice), not at real/fake interpolates as in WGAN-GP."""
    fake = fake.detach().requires_grad_(True)
    _, score = critic(fake)
    return _penalty(score, fake)


def critic_danbooregion(
    critic: Critic, fake: torch.Tensor, real: torch.Tensor, *, gp_weight: float = 10.0
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """mean(D(fake) − D(real)) + gp_weight · GP(fake). `fake` is detached here."""
    fake = fake.detach().requires_grad_(True)
    _, fake_score = critic(fake)
    _, real_score = critic(real)
    wasserstein = fake_score.float().mean() - real_score.float().mean()
    # One critic pass on the fakes serves both terms (the penalty is taken at the fakes).
    penalty = _penalty(fake_score, fake)
    loss = wasserstein + gp_weight * penalty
    return loss, {"wasserstein": wasserstein.detach(), "gradient_penalty": penalty.detach()}


def generator_loss(
    name: str,
    critic: Critic | None,
    fake: torch.Tensor,
    real: torch.Tensor,
    *,
    adv_weight: float = 0.01,
    l1_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The generator objective `name` ∈ {"danbooregion", "l1", "l1+gan"}; "l1+gan" is
    `l1_weight`·L1 + the danbooregion loss."""
    if name == "l1":
        loss = l1(fake, real)
        return loss, {"l1": loss.detach()}
    if critic is None:
        raise ValueError(f"critic: loss {name!r} needs a critic")
    if name == "danbooregion":
        return generator_danbooregion(critic, fake, real, adv_weight=adv_weight)
    if name == "l1+gan":
        gan, parts = generator_danbooregion(critic, fake, real, adv_weight=adv_weight)
        pixel = l1(fake, real)
        return gan + l1_weight * pixel, {**parts, "l1": pixel.detach()}
    raise ValueError(f"name: unknown loss {name!r}")
