"""Exact resume: 20 steps straight == 10 steps, SIGKILL, resume for 10 more (bitwise)."""

import signal
import subprocess
import sys
import textwrap

import pytest
import torch

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from regionflow.models.config import TrainConfig
    from regionflow.models.data import CropDataset
    from regionflow.models.train import fit
    from regionflow.storage.checkpoints import CheckpointStore

    directory, kill_at, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    def read_sample(sample_id):
        rng = np.random.default_rng(sample_id)
        image = rng.integers(0, 256, (72, 96, 3), dtype=np.uint8)
        skeleton = rng.integers(0, 256, (72, 96), dtype=np.uint8)
        return image, skeleton

    class KilledAfterSave(CheckpointStore):
        def save(self, step, state):
            path = super().save(step, state)
            if step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return path

    config = TrainConfig(steps=20, crop=64, batch_size=1, checkpoint_every=10, keep_last=2,
                         preview_every=0, num_workers=0, device="cpu", deterministic=True)
    dataset = CropDataset.from_config([0, 1, 2], read_sample, config)
    state = fit(config, dataset, checkpoints=KilledAfterSave(directory), progress=False)
    torch.save({"step": state.step, "model": state.net.state_dict(),
                "critic": state.critic.state_dict(), "opt_g": state.opt_g.state_dict(),
                "opt_d": state.opt_d.state_dict()}, out)
    """
)


def _run(script, *args):
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _assert_same_tensors(a, b, path=""):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _assert_same_tensors(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list | tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_tensors(x, y, f"{path}/{i}")
    else:
        assert a == b, path


@pytest.mark.slow  # ~25 s CPU: 40 generator+critic steps in 3 fresh processes
def test_kill_and_resume_is_bitwise_identical(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    straight = _run(script, tmp_path / "straight", -1, tmp_path / "straight.pt")
    killed = _run(script, tmp_path / "resumed", 10, tmp_path / "never.pt")
    _, err = killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert not (tmp_path / "never.pt").exists()
    assert sorted(p.name for p in (tmp_path / "resumed").iterdir()) == ["step-00000010.pt"]

    resumed = _run(script, tmp_path / "resumed", -1, tmp_path / "resumed.pt")
    for process in (straight, resumed):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()[-2000:]

    a = torch.load(tmp_path / "straight.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed.pt", weights_only=True)
    assert a["step"] == b["step"] == 20
    _assert_same_tensors(a, b)
    # and training did happen after the resume
    first = torch.load(tmp_path / "resumed" / "step-00000010.pt", weights_only=True)
    assert not torch.equal(first["model"]["op.weight"], b["model"]["op.weight"])
