import json

import pytest
from pydantic import ValidationError

from regionflow.models.config import InferenceConfig, TrainConfig


def test_defaults_are_the_original_recipe():
    c = TrainConfig()
    assert (c.batch_size, c.crop, c.lr, c.critic_lr, c.steps, c.loss) == (
        4,
        512,
        1e-5,
        1e-5,
        50_000,
        "danbooregion",
    )
    assert (c.adv_weight, c.gp_weight, c.device, c.augment) == (0.01, 10.0, "auto", True)
    assert c.uses_critic and not c.replace(loss="l1").uses_critic


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(),
        TrainConfig(crop=64, min_quality=0.5, loss="l1"),
        InferenceConfig(),
        InferenceConfig(short_side=None, tta=8),
    ],
)
def test_round_trip_through_json(config):
    data = json.loads(json.dumps(config.to_dict()))
    assert type(config).from_dict(data) == config
    assert type(config).from_json(config.to_json()) == config


def test_frozen():
    with pytest.raises(ValidationError, match="frozen"):
        TrainConfig().steps = 3  # type: ignore[misc]


def test_unknown_field_is_named():
    with pytest.raises(ValueError, match="bogus"):
        TrainConfig.from_dict({"bogus": 1})


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"loss": "mse"}, "loss"),
        ({"crop": 100}, "crop"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"target": "exact"}, "target"),
        ({"num_workers": -1}, "num_workers"),
        ({"amp_dtype": "float8"}, "amp_dtype"),
        ({"low_contrast": 1.5}, "low_contrast"),
    ],
)
def test_bad_train_values_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"tta": 2}, "tta"),
        ({"tile": 100}, "tile"),
        ({"overlap": 1024}, "overlap"),
        ({"short_side": 0}, "short_side"),
        ({"batch": 0}, "batch"),
    ],
)
def test_bad_inference_values_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        InferenceConfig(**kwargs)
