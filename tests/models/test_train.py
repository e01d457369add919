import numpy as np
import pytest
import torch

import regionflow.models.train as train_module
from regionflow.models.config import TrainConfig
from regionflow.models.data import CropDataset
from regionflow.models.device import resolve_runtime
from regionflow.models.losses import critic_danbooregion, generator_loss
from regionflow.models.train import (
    CHECKPOINT_FORMAT,
    build_state,
    evaluate,
    fit,
    restore_state,
    to_model_space,
    train_step,
)
from regionflow.storage.checkpoints import CheckpointStore


def read_synthetic(sample_id):
    rng = np.random.default_rng(int(sample_id))
    image = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    skeleton = rng.integers(0, 256, (70, 90), dtype=np.uint8)
    return image, skeleton


def _batch(n=1, crop=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, crop, crop), dtype=torch.uint8, generator=g)
    skeletons = torch.randint(0, 256, (n, 1, crop, crop), dtype=torch.uint8, generator=g)
    return images, skeletons


def tiny_config(**changes) -> TrainConfig:
    """A few 64² steps on CPU, no loader workers; tests name what they vary."""
    return TrainConfig(
        **{"crop": 64, "batch_size": 1, "loss": "l1", "num_workers": 0, "device": "cpu"} | changes
    )


@pytest.fixture
def runtime():
    return resolve_runtime("cpu", deterministic=False)


def test_generator_and_critic_step_simultaneously(runtime):
    config = TrainConfig(crop=64, batch_size=1)
    torch.manual_seed(0)
    state = build_state(config, runtime)
    images, skeletons = _batch()
    net, critic = state.net, state.critic
    x, real = to_model_space(images, skeletons, runtime)
    fake = net(x)
    loss_g, _ = generator_loss("danbooregion", critic, fake, real)
    expected_g = torch.autograd.grad(loss_g, list(net.parameters()))
    loss_d, _ = critic_danbooregion(critic, fake.detach(), real)
    expected_d = torch.autograd.grad(loss_d, list(critic.parameters()))
    before = [p.detach().clone() for p in (*net.parameters(), *critic.parameters())]

    metrics, _ = train_step(state, images, skeletons, config=config, runtime=runtime)

    assert state.step == 1
    assert {"loss_g", "loss_d", "feature_matching", "gradient_penalty", "l1"} <= set(metrics)
    # both gradients are taken at the pre-step weights; the critic gets none from loss_g
    for p, g in zip(net.parameters(), expected_g, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-7)
    for p, g in zip(critic.parameters(), expected_d, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-7)
    # Adam moved every weight that has a gradient (the critic's head bias has none: it cancels
    # in mean(D(fake)) − mean(D(real)) and does not enter the penalty)
    params = (*net.parameters(), *critic.parameters())
    moved = [not torch.equal(p.detach(), b) for p, b in zip(params, before, strict=True)]
    has_grad = [bool(p.grad.abs().max() > 0) for p in params]
    assert moved == has_grad and sum(has_grad) == len(params) - 1


def test_l1_training_fits_a_batch(runtime):
    config = TrainConfig(loss="l1", crop=64, batch_size=2, lr=1e-3)
    torch.manual_seed(0)
    state = build_state(config, runtime)
    assert state.critic is None and state.opt_d is None
    images, _ = _batch(2)
    skeletons = torch.full((2, 1, 64, 64), 200, dtype=torch.uint8)
    losses = [
        train_step(state, images, skeletons, config=config, runtime=runtime)[0]["l1"]
        for _ in range(12)
    ]
    assert losses[-1] < 0.5 * losses[0]


def test_evaluate_is_the_pixel_mean_l1(runtime):
    torch.manual_seed(0)
    state = build_state(TrainConfig(loss="l1", crop=64), runtime)
    batches = [_batch(1, seed=1), _batch(2, seed=2)]
    result = evaluate(state.net, batches, runtime=runtime)
    errors = []
    with torch.no_grad():
        for images, skeletons in batches:
            x, real = to_model_space(images, skeletons, runtime)
            errors.append((state.net(x) - real).abs().flatten())
    assert result["val_l1"] == pytest.approx(torch.cat(errors).mean().item(), rel=1e-5)
    assert result["val_images"] == 3
    with pytest.raises(ValueError, match="batches"):
        evaluate(state.net, [], runtime=runtime)


def test_fit_callbacks_previews_checkpoints_and_resume(tmp_path):
    config = tiny_config(steps=3, preview_every=2, checkpoint_every=2, val_every=3)
    dataset = CropDataset.from_config([0, 1, 2], read_synthetic, config)
    store = CheckpointStore(tmp_path, keep_last=5)
    calls = []
    val_calls = []

    def val_fn(net, step):
        val_calls.append(step)
        return {"val_l1": 0.25}

    state = fit(
        config,
        dataset,
        checkpoints=store,
        progress=False,
        val_fn=val_fn,
        on_step=lambda step, metrics, preview: calls.append((step, metrics, preview)),
    )
    assert state.step == 3 and [c[0] for c in calls] == [1, 2, 3]
    assert [c[2] is None for c in calls] == [True, False, True]
    preview = calls[1][2]
    assert preview.shape == (64, 192, 3) and preview.dtype == np.uint8
    image, skeleton = dataset[(1, 0)]  # step 2 trained on data position 1
    np.testing.assert_array_equal(preview[:, :64], image.permute(1, 2, 0).numpy())
    np.testing.assert_array_equal(preview[:, 64:128, 1], skeleton[0].numpy())
    assert val_calls == [3] and calls[2][1]["val_l1"] == 0.25
    assert all(np.isfinite(c[1]["loss_g"]) and c[1]["step_time_s"] > 0 for c in calls)

    assert store.steps() == [2, 3]
    checkpoint = store.latest()
    assert checkpoint["format"] == CHECKPOINT_FORMAT and checkpoint["step"] == 3
    assert {
        "model",
        "critic",
        "opt_g",
        "opt_d",
        "scaler",
        "rng",
        "data",
        "config",
        "runtime",
    } <= set(checkpoint)
    assert set(checkpoint["rng"]) == {"python", "numpy", "torch", "cuda"}
    assert checkpoint["data"]["next_step"] == 3 and checkpoint["data"]["crop"] == 64
    assert TrainConfig.from_dict(checkpoint["config"]) == config
    assert checkpoint["runtime"]["device"] == "cpu"
    for name, value in state.net.state_dict().items():
        assert torch.equal(checkpoint["model"][name], value)

    calls.clear()
    again = fit(
        config, dataset, checkpoints=store, progress=False, on_step=lambda *a: calls.append(a)
    )
    assert again.step == 3 and calls == []  # already done: nothing re-run


def test_metrics_are_read_back_in_windows_with_the_same_numbers(tmp_path, monkeypatch):
    # log_every batches the host-device syncs; the callback still sees every step, in order,
    # with exactly the losses a step-by-step read gives (deterministic CPU run).
    queued = []  # state.step after each queued step
    real_queue_step = train_module.queue_step

    def counting_queue_step(state, *args, **kwargs):
        out = real_queue_step(state, *args, **kwargs)
        queued.append(state.step)
        return out

    monkeypatch.setattr(train_module, "queue_step", counting_queue_step)

    def run(log_every):
        config = tiny_config(
            steps=7,
            preview_every=0,
            checkpoint_every=100,
            log_every=log_every,
            deterministic=True,
        )
        dataset = CropDataset.from_config([0, 1, 2], read_synthetic, config)
        calls = []  # (step, metrics, steps queued when the callback ran)
        store = CheckpointStore(tmp_path / str(log_every), keep_last=1)
        fit(
            config,
            dataset,
            checkpoints=store,
            progress=False,
            on_step=lambda step, metrics, _: calls.append((step, metrics, queued[-1])),
        )
        return calls

    one_by_one, windowed = run(1), run(3)
    assert [c[0] for c in windowed] == list(range(1, 8))
    for (_, a, _), (_, b, _) in zip(one_by_one, windowed, strict=True):
        for key in ("loss_g", "l1"):
            assert a[key] == b[key]
        assert b["images_per_s"] > 0 and b["step_time_s"] >= 0
    assert [c[2] for c in one_by_one] == list(range(1, 8))
    # Windows of 3: steps 1-3 are reported after step 3 was queued, 4-6 after 6, 7 at the end.
    assert [c[2] for c in windowed] == [3, 3, 3, 6, 6, 6, 7]


@pytest.mark.gpu
def test_cuda_fit_trains_the_recipe_in_bf16_and_resumes(tmp_path):
    # The CUDA path end to end: bf16 autocast, channels_last, the critic with its gradient
    # penalty, windowed metric read-back, a checkpoint, and a resume on the device.
    config = tiny_config(
        steps=6,
        batch_size=2,
        loss="danbooregion",
        checkpoint_every=3,
        preview_every=0,
        log_every=2,
        device="cuda",
    )
    dataset = CropDataset.from_config([0, 1, 2], read_synthetic, config)
    store = CheckpointStore(tmp_path, keep_last=2)
    rows = []

    def on_step(step, metrics, preview):
        rows.append((step, metrics))

    first = fit(
        config.replace(steps=3), dataset, checkpoints=store, progress=False, on_step=on_step
    )
    assert first.step == 3 and next(first.net.parameters()).device.type == "cuda"
    state = fit(config, dataset, checkpoints=store, progress=False, on_step=on_step)
    assert state.step == 6 and [step for step, _ in rows] == list(range(1, 7))
    for _, metrics in rows:
        assert all(np.isfinite(metrics[k]) for k in ("loss_g", "loss_d", "l1"))
    checkpoint = store.latest()
    assert checkpoint["step"] == 6 and checkpoint["runtime"]["device"].startswith("cuda")


def test_fit_rejects_a_dataset_built_for_another_config(tmp_path):
    config = TrainConfig(crop=64, batch_size=1, device="cpu")
    dataset = CropDataset([0], read_synthetic, crop=128, batch_size=1)
    with pytest.raises(ValueError, match="dataset: crop"):
        fit(config, dataset, checkpoints=CheckpointStore(tmp_path))


def test_restore_rejects_a_foreign_checkpoint(runtime):
    config = TrainConfig(loss="l1", crop=64)
    state = build_state(config, runtime)
    with pytest.raises(ValueError, match="format"):
        restore_state(state, {"format": "other"}, config)


def test_step_decay_is_a_function_of_the_step_and_survives_resume(tmp_path):
    config = tiny_config(steps=4, lr=1e-3, lr_milestones=(2, 3), lr_gamma=0.5, checkpoint_every=2)
    assert [config.lr_factor(s) for s in range(5)] == [1.0, 1.0, 0.5, 0.25, 0.25]
    dataset = CropDataset.from_config([0, 1], read_synthetic, config)
    seen = []
    fit(
        config.replace(steps=2),
        dataset,
        checkpoints=CheckpointStore(tmp_path / "a"),
        progress=False,
        on_step=lambda step, metrics, preview: seen.append((step, metrics["lr"])),
    )
    store = CheckpointStore(tmp_path / "a")
    state = fit(
        config,
        dataset,
        checkpoints=store,
        progress=False,
        on_step=lambda step, metrics, preview: seen.append((step, metrics["lr"])),
    )
    assert seen == [(1, 1e-3), (2, 1e-3), (3, 5e-4), (4, 2.5e-4)]
    assert state.opt_g.param_groups[0]["lr"] == pytest.approx(2.5e-4)


def test_init_weights_start_a_fresh_run_but_not_a_resumed_one(tmp_path):
    config = tiny_config(steps=1)
    dataset = CropDataset.from_config([0], read_synthetic, config)
    torch.manual_seed(1)
    donor = train_module.RegionUNet().state_dict()
    state = fit(
        config.replace(lr=1e-12),
        dataset,
        checkpoints=CheckpointStore(tmp_path),
        progress=False,
        init_weights=donor,
    )
    got = state.net.state_dict()
    assert all(torch.allclose(got[k], donor[k], atol=1e-6) for k in donor)
    resumed = fit(
        config.replace(steps=1),
        dataset,
        checkpoints=CheckpointStore(tmp_path),
        progress=False,
        init_weights={k: torch.zeros_like(v) for k, v in donor.items()},
    )
    assert all(torch.equal(resumed.net.state_dict()[k], got[k]) for k in donor)


@pytest.mark.parametrize(
    ("changes", "name"),
    [({"lr_milestones": (3, 2)}, "lr_milestones"), ({"zoom": (1.2, 0.8)}, "zoom")],
)
def test_schedule_and_zoom_are_validated(changes, name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(**changes)
