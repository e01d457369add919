"""The `regionflow` command: help, config resolution, single-image commands, evaluate."""

import json
import shutil

import cv2
import numpy as np
import pytest

from regionflow.flows.cli import main
from regionflow.regions.danbooregion.labels import region_labels
from regionflow.regions.danbooregion.skeleton import skeleton_target
from tests.conftest import DANBOOREGION, read_fixture


def test_help_names_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "demo",
        "run",
        "ingest",
        "extract",
        "visualize",
        "evaluate",
        "import-weights",
    ):
        assert command in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "regionflow demo" in capsys.readouterr().out


def test_config_resolves_file_then_overrides(tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"train": {"steps": 7, "crop": 128}, "skeleton": {"rounds": 99}}))
    assert (
        main(
            ["config", "--config", str(config), "--set", "train.steps=9", "--set", "extract.tta=4"]
        )
        == 0
    )
    resolved = json.loads(capsys.readouterr().out)
    assert resolved["train"]["steps"] == 9 and resolved["train"]["crop"] == 128
    assert resolved["skeleton"]["rounds"] == 99 and resolved["extract"]["tta"] == 4


@pytest.mark.parametrize(
    "override,message",
    [
        ("train.stepz=3", "train.stepz: unknown config field"),
        ("train.steps=many", "train.steps: expected an integer"),
        ("extract.decoder=fancy", "decoder: expected one of"),
        ("nonsense", "expected FIELD=VALUE"),
    ],
)
def test_bad_overrides_name_the_field(override, message, capsys):
    assert main(["config", "--set", override]) == 2
    assert message in capsys.readouterr().err


def test_skeletonize_one_region_map(tmp_path):
    region = DANBOOREGION / "decode_samples" / "region_test.png"
    out, normal, markers = tmp_path / "s.png", tmp_path / "n.png", tmp_path / "m.png"
    code = main(
        [
            "skeletonize",
            str(region),
            "-o",
            str(out),
            "--normal",
            str(normal),
            "--markers",
            str(markers),
            "--rounds",
            "64",
        ]
    )
    assert code == 0
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    expected = skeleton_target(read_fixture("decode_samples/region_test.png"), rounds=64, seed=0)
    np.testing.assert_array_equal(written, expected)
    assert cv2.imread(str(normal)).shape == (*written.shape, 3)
    assert set(np.unique(cv2.imread(str(markers), 0))) <= {0, 255}


def test_skeletonize_reports_a_missing_file(tmp_path, capsys):
    assert main(["skeletonize", str(tmp_path / "nope.png"), "-o", str(tmp_path / "x.png")]) == 2
    assert "nope.png" in capsys.readouterr().err


def test_visualize_fills_regions_with_median_colour(tmp_path):
    out = tmp_path / "flat.png"
    image = DANBOOREGION / "illustration" / "X.image.png"
    region = DANBOOREGION / "illustration" / "X.region.png"  # 1 px wider than the image
    assert main(["visualize", str(image), str(region), "-o", str(out)]) == 0
    flat = cv2.imread(str(out))
    assert flat.shape == read_fixture("illustration/X.image.png").shape
    # every region is one colour
    labels = region_labels(
        cv2.resize(
            read_fixture("illustration/X.region.png"),
            flat.shape[1::-1],
            interpolation=cv2.INTER_NEAREST,
        )
    )
    first = labels == labels[500, 900]
    assert len(np.unique(flat[first], axis=0)) == 1


def test_evaluate_reproduces_the_paper_metric(tmp_path, capsys):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    pred.mkdir()
    gt.mkdir()
    for n in (1, 2, 3):
        shutil.copy(DANBOOREGION / "metric_samples" / f"{n}.estimation.png", pred)
        shutil.copy(DANBOOREGION / "metric_samples" / f"{n}.ground_truth.png", gt)
    assert main(["evaluate", str(pred), str(gt), "-o", str(tmp_path / "eval")]) == 0
    out = capsys.readouterr().out
    assert "AP                   0.68733" in out
    assert "OIS                  0.78368" in out and "ODS                  0.78368" in out
    assert (tmp_path / "eval" / "reports" / "evaluate" / "report.md").exists()


@pytest.mark.parametrize(
    ("argv", "quiet"),
    [
        (["config"], True),  # a command without --verbose: always quiet
        (["config", "--set", "train.steps=3"], True),
    ],
)
def test_commands_hide_the_temporary_server_lines(argv, quiet, capsys):
    import logging

    from regionflow.flows.cli.common import _TemporaryServerLines

    assert main(argv) == 0
    capsys.readouterr()
    prefect_logger = logging.getLogger("prefect")
    hidden = any(isinstance(f, _TemporaryServerLines) for f in prefect_logger.filters)
    assert hidden == quiet
    record = logging.LogRecord(
        "prefect", logging.INFO, "", 0, "Starting temporary server on x", None, None
    )
    assert all(f.filter(record) for f in prefect_logger.filters) != quiet


def test_verbose_is_offered_by_every_command_that_starts_flows():
    from regionflow.flows.cli import build_parser

    parser = build_parser()
    for command in (
        "demo",
        "run",
        "ingest",
        "extract",
        "evaluate",
        "panels",
        "cuts",
    ):
        args = parser.parse_args([command, "--verbose", *_required(command)])
        assert args.verbose is True, command


def _required(command: str) -> list[str]:
    return {
        "ingest": ["src"],
        "extract": ["x.png", "-o", "out"],
        "evaluate": ["pred", "gt"],
        "panels": ["p.png"],
        "cuts": ["s.png"],
    }.get(command, [])
