"""`regionflow extract IMAGES -o OUT` with no --checkpoint runs the shipped model."""

import cv2
import numpy as np

from regionflow.flows.cli import main
from regionflow.regions.synthetic.illustration import illustration_sample


def test_extract_without_checkpoint_uses_the_shipped_model(prefect_harness, tmp_path, capsys):
    pages = tmp_path / "pages"
    pages.mkdir()
    image, _ = illustration_sample(5, height=192, width=160)
    cv2.imwrite(str(pages / "drawing.png"), image)
    out = tmp_path / "out"
    code = main(["extract", str(pages), "-o", str(out), "--short-side", "0"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "1 images" in printed
    labels_files = list((out / "exports").glob("*/*/labels.png"))
    assert len(labels_files) == 1
    labels = cv2.imread(str(labels_files[0]), cv2.IMREAD_UNCHANGED)
    assert labels.shape == (192, 160) and labels.min() >= 1
    assert len(np.unique(labels)) > 5, "the shipped model should find regions in a drawing"


def test_extract_refuses_a_missing_checkpoint_before_reading_images(
    prefect_harness, tmp_path, capsys
):
    code = main(["extract", str(tmp_path), "-o", str(tmp_path / "o"), "--checkpoint", "nope.pt"])
    assert code != 0
    captured = capsys.readouterr()
    assert "nope.pt does not exist" in captured.out + captured.err
    assert not (tmp_path / "o" / "samples.zarr").exists()


def test_unset_decoder_means_the_shipped_models_own():
    from regionflow.flows.export import with_shipped_decoding
    from regionflow.storage.model_zoo import default_decoding

    def set_fields(config):  # what the user gave and what the shipped model filled in
        return config.model_dump(exclude_unset=True)

    shipped = default_decoding()
    assert set_fields(with_shipped_decoding(None)) == shipped
    assert set_fields(with_shipped_decoding({"threshold": 77})) == {
        "decoder": shipped["decoder"],
        "threshold": 77,
        "short_side": shipped["short_side"],
    }
    other = "simple" if shipped["decoder"] != "simple" else "full"
    # The shipped threshold belongs to the shipped decoder only; its working size to the model.
    assert set_fields(with_shipped_decoding({"decoder": other})) == {
        "decoder": other,
        "short_side": shipped["short_side"],
    }
    assert with_shipped_decoding({"short_side": None}).short_side is None


def test_the_shipped_decoding_is_the_one_the_model_card_measures():
    from regionflow.storage.model_zoo import default_decoding

    assert default_decoding() == {"decoder": "colour", "threshold": 120, "short_side": 1536}


def test_short_side_and_precision_options_reach_the_extract_config():
    import argparse

    from regionflow.flows.cli.common import add_export_options, export_overrides

    parser = argparse.ArgumentParser()
    add_export_options(parser)
    unset = export_overrides(parser.parse_args([]))
    assert "short_side" not in unset and "cpu_amp" not in unset  # the model's own decides
    assert export_overrides(parser.parse_args(["--short-side", "0"]))["short_side"] is None
    assert export_overrides(parser.parse_args(["--short-side", "800"]))["short_side"] == 800
    assert export_overrides(parser.parse_args(["--float32"]))["cpu_amp"] is False
    assert export_overrides(parser.parse_args(["--decoder", "colour"]))["decoder"] == "colour"
