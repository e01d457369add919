"""`regionflow cuts` / `regionflow panels`: synthetic episodes and pages with exact ground truth
through the flows, checked against the ground truth, the whole-strip detector, and kumiko's JSON."""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from regionflow.flows.cli.comics import add_parsers as add_comics_parsers
from regionflow.flows.comics import comic_panels, webtoon_cuts
from regionflow.regions.comics.comic_synth import synth_page, synth_strip
from regionflow.regions.comics.cuts import detect_cuts
from regionflow.regions.comics.panel_eval import evaluate_panels
from regionflow.regions.comics.panels import reading_order
from regionflow.regions.comics.strips import link_slices

STRIP_SEEDS = (0, 1, 2)
PAGE_SEEDS = (0, 1, 2, 3)  # odd seeds read right to left
WIDTH = 360


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="regionflow")
    add_comics_parsers(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def write_episode(
    folder: Path, image: np.ndarray, seed: int, *, odd_width: float = 0.75
) -> list[np.ndarray]:
    """Cut a strip into 4-6 slices of uneven heights; the third slice gets another width.

    Returns the slices as written: lossless PNG named 5.png, 10.png, 15.png, ... (a plain string
    sort would put 10 before 5), and a hidden `._5.png` (a macOS resource fork) that is no slice.
    """
    rng = np.random.default_rng(seed)
    height = image.shape[0]
    n = int(rng.integers(4, 7))
    edges = np.sort(rng.choice(np.arange(50, height - 50), n - 1, replace=False))
    bounds = [0, *edges.tolist(), height]
    folder.mkdir(parents=True)
    slices = []
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        piece = image[a:b]
        if i == 2:
            size = (round(piece.shape[1] * odd_width), round(piece.shape[0] * odd_width))
            piece = cv2.resize(piece, size, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / slice_name(i)), piece)
        slices.append(piece)
    (folder / "._5.png").write_bytes(b"\x00\x05\x16\x07 not an image")
    return slices


def slice_name(i: int) -> str:
    return f"{5 * (i + 1)}.png"


def read(path: Path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    image = cv2.imread(str(path), flags)
    assert image is not None, path
    return image


@pytest.fixture(scope="module")
def strips(tmp_path_factory):
    root = tmp_path_factory.mktemp("episodes")
    out = {}
    for seed in STRIP_SEEDS:
        comic = synth_strip(seed, width=WIDTH)
        out[f"ep{seed}"] = (comic, write_episode(root / f"ep{seed}", comic.image, seed))
    return root, out


@pytest.fixture(scope="module")
def cut_run(prefect_harness, strips, tmp_path_factory):
    """`regionflow cuts` on every episode (default options), through the command's function."""
    root, _ = strips
    out = tmp_path_factory.mktemp("out")
    for name in sorted(os.listdir(root)):
        args = parse(["cuts", str(root / name), "-o", str(out)])
        assert args.handler(args) == 0
    return out


def test_cuts_match_the_ground_truth(strips, cut_run):
    _, episodes = strips
    predicted, truth = [], []
    for name, (comic, _) in episodes.items():
        doc = json.loads((cut_run / "cuts" / name / "cuts.json").read_text())
        predicted.append([c["box"] for c in doc["cuts"]])
        truth.append(comic.panels)
    scores = evaluate_panels(predicted, truth)
    assert scores["f1"] >= 0.95, scores
    assert scores["reading_order"] == 1.0


def test_windowed_cuts_equal_the_whole_strip_and_crops_are_its_pixels(strips, cut_run):
    _, episodes = strips
    for name, (_, slices) in episodes.items():
        folder = cut_run / "cuts" / name
        doc = json.loads((folder / "cuts.json").read_text())
        strip = link_slices(slices)  # the oracle builds what the flow never does
        assert doc["size"] == [strip.shape[1], strip.shape[0]]
        expected = detect_cuts(strip)
        assert [c["box"] for c in doc["cuts"]] == [list(c.box) for c in expected]
        assert [c["kind"] for c in doc["cuts"]] == [c.kind for c in expected]
        assert all(0 < c["confidence"] <= 1 for c in doc["cuts"])
        assert sorted(p.name for p in folder.glob("[0-9]*.png")) == [c["file"] for c in doc["cuts"]]
        for c in doc["cuts"]:
            x, y, w, h = c["box"]
            np.testing.assert_array_equal(read(folder / c["file"]), strip[y : y + h, x : x + w])
        # Slices are placed in numeric order; the odd-width one is rescaled to the strip width.
        assert [s["file"] for s in doc["slices"]] == [slice_name(i) for i in range(len(slices))]
        odd = doc["slices"][2]
        assert odd["width"] == WIDTH and odd["source_size"][0] == round(WIDTH * 0.75)
        overlay = read(folder / "overlay.png")
        assert doc["overlays"] == ["overlay.png"]
        assert overlay.shape[1] == WIDTH and overlay.shape[0] == round(
            strip.shape[0] * doc["overlay_scale"]
        )
        assert (overlay != strip[: overlay.shape[0]]).any(), "boxes are drawn on the overlay"


def test_pad_policy_separate_fragments_and_overlay_pieces(prefect_harness, strips, tmp_path):
    root, episodes = strips
    _, slices = episodes["ep1"]
    config = {"width_policy": "pad", "fragments": "separate", "overlay_piece_height": 500}
    result = webtoon_cuts(str(root / "ep1"), str(tmp_path), config)
    strip = link_slices(slices, width_policy="pad")
    doc = json.loads(Path(result["json"]).read_text())
    assert doc["size"] == [strip.shape[1], strip.shape[0]] and doc["width_policy"] == "pad"
    odd = doc["slices"][2]
    assert odd["width"] == round(WIDTH * 0.75) and odd["x"] == (WIDTH - odd["width"]) // 2
    expected = detect_cuts(strip, fragments="separate")
    assert [c["box"] for c in doc["cuts"]] == [list(c.box) for c in expected]
    assert [c["kind"] for c in doc["cuts"]] == [c.kind for c in expected]
    pieces = math.ceil(round(strip.shape[0] * doc["overlay_scale"]) / 500)
    assert pieces > 1 and doc["overlays"] == [f"overlay-{i:02d}.png" for i in range(1, pieces + 1)]
    assert sum(read(tmp_path / "cuts" / "ep1" / n).shape[0] for n in doc["overlays"]) == round(
        strip.shape[0] * doc["overlay_scale"]
    )


def test_seed_rough_mode_equals_the_whole_strip_detector(prefect_harness, tmp_path):
    comic = synth_strip(5, width=WIDTH, gutter="white", jpeg_probability=0.0)
    slices = write_episode(tmp_path / "ep", comic.image, 5, odd_width=1.0)
    result = webtoon_cuts(str(tmp_path / "ep"), str(tmp_path / "out"), {"mode": "seed-rough"})
    expected = detect_cuts(link_slices(slices), mode="seed-rough")
    assert expected, "exact white gutters: the seed's rule finds cuts"
    doc = json.loads(Path(result["json"]).read_text())
    assert [c["box"] for c in doc["cuts"]] == [list(c.box) for c in expected]


def test_a_done_episode_is_skipped_and_a_changed_one_recomputed(
    prefect_harness, strips, cut_run, tmp_path, capsys
):
    root, episodes = strips
    folder = cut_run / "cuts" / "ep0"
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    args = parse(["cuts", str(root / "ep0"), "-o", str(cut_run)])
    assert args.handler(args) == 0
    assert "unchanged, skipped" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before

    # Same episode name, other slices (one dropped): the stale outputs are replaced.
    other = tmp_path / "ep0"
    other.mkdir()
    for i, piece in enumerate(episodes["ep0"][1][:-1]):
        cv2.imwrite(str(other / slice_name(i)), piece)
    result = webtoon_cuts(str(other), str(cut_run))
    assert result["computed"]
    doc = json.loads((folder / "cuts.json").read_text())
    assert sorted(p.name for p in folder.glob("[0-9]*.png")) == [c["file"] for c in doc["cuts"]]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    (root / "ltr").mkdir()
    (root / "rtl").mkdir()
    comics = {}
    for seed in PAGE_SEEDS:
        direction = "rtl" if seed % 2 else "ltr"
        comic = synth_page(seed, width=WIDTH, direction=direction)
        name = f"page{seed}"
        cv2.imwrite(str(root / direction / f"{name}.png"), comic.image)
        comics[name] = comic
    return root, comics


@pytest.fixture(scope="module")
def panel_run(prefect_harness, pages, tmp_path_factory):
    root, _ = pages
    out = tmp_path_factory.mktemp("out")
    for argv in (
        ["panels", str(root / "ltr"), "-o", str(out)],  # a folder
        ["panels", str(root / "rtl" / "*.png"), "--rtl", "-o", str(out)],  # a glob
    ):
        args = parse(argv)
        assert args.handler(args) == 0
    return out


def _index(out: Path) -> dict[str, dict[str, str]]:
    """`panels/index.csv` rows by input path."""
    import csv

    with open(out / "panels" / "index.csv", newline="") as f:
        return {row["input"]: row for row in csv.DictReader(f)}


def test_panels_match_the_ground_truth_in_reading_order(pages, panel_run):
    root, comics = pages
    index = _index(panel_run)
    for direction in ("ltr", "rtl"):
        chosen = {n: c for n, c in comics.items() if c.direction == direction}
        predicted = [
            json.loads((panel_run / index[f"{root}/{direction}/{n}.png"]["json"]).read_text())[
                "panels"
            ]
            for n in chosen
        ]
        scores = evaluate_panels(predicted, [c.panels for c in chosen.values()])
        assert scores["f1"] >= 0.95, (direction, scores)
        assert scores["reading_order"] == 1.0, (direction, scores)
    # The RTL check can fail: left-to-right order differs from these pages' ground truth.
    rtl = [c for c in comics.values() if c.direction == "rtl"]
    assert any(reading_order(c.panels, direction="ltr") != list(range(len(c.panels))) for c in rtl)


def test_panel_outputs_kumiko_json_crops_and_overlays(pages, panel_run):
    root, comics = pages
    combined = json.loads((panel_run / "panels" / "panels.json").read_text())
    # Every page's filename is its input path as given: the folder argument joined with the
    # file (ltr run) or the glob's match (rtl run).
    given = {n: f"{root}/{c.direction}/{n}.png" for n, c in comics.items()}
    assert sorted(p["filename"] for p in combined) == sorted(given.values())
    index = _index(panel_run)
    assert set(index) == set(given.values())
    for name, comic in comics.items():
        row = index[given[name]]
        folder = panel_run / "panels" / row["folder"]
        # The output folder is the input's path without its root: no renaming, no numbering.
        assert row["folder"] == Path(given[name]).relative_to(Path(given[name]).anchor).as_posix()
        assert row["source"] == str(Path(given[name]).resolve())
        doc = json.loads((folder / "panels.json").read_text())
        assert doc in combined
        assert doc["filename"] == given[name] and doc["numbering"] == comic.direction
        assert doc["size"] == [comic.image.shape[1], comic.image.shape[0]]
        assert all(len(b) == 4 and all(isinstance(v, int) for v in b) for b in doc["panels"])
        crops = sorted(p.name for p in folder.glob("[0-9]*.png"))
        assert crops == [f"{n:02d}.png" for n in range(1, len(doc["panels"]) + 1)]
        assert row["crops"].split() == [f"panels/{row['folder']}/{c}" for c in crops]
        assert int(row["panels"]) == len(crops)
        for crop, (x, y, w, h) in zip(crops, doc["panels"], strict=True):
            np.testing.assert_array_equal(read(folder / crop), comic.image[y : y + h, x : x + w])
        overlay = read(panel_run / row["overlay"])
        assert overlay.shape == comic.image.shape and (overlay != comic.image).any()


def test_done_pages_are_skipped(prefect_harness, pages, panel_run):
    root, _ = pages
    result = comic_panels([str(root / "ltr" / "page0.png"), str(root / "ltr")], str(panel_run))
    # A page given twice is done once, under its first spelling.
    assert list(result["pages"]) == [str(root / "ltr" / "page0.png"), f"{root}/ltr/page2.png"]
    assert result["computed"] == 0 and result["reused"] == 2


def test_relative_inputs_keep_their_paths(prefect_harness, tmp_path, monkeypatch, capsys):
    """Same file names in two folders: outputs under each input's relative path, JSON
    filenames as typed, one index row each; `--store` names the store; no server chatter."""
    monkeypatch.chdir(tmp_path)
    for chapter, seed in (("ch1", 0), ("ch2", 2)):
        (tmp_path / "book" / chapter).mkdir(parents=True)
        cv2.imwrite(f"book/{chapter}/001.png", synth_page(seed, width=WIDTH).image)
    args = parse(["panels", "book/ch1/001.png", "book/ch2", "--store", "store"])
    assert args.output == "store" and not args.verbose
    assert args.handler(args) == 0
    assert "temporary server" not in capsys.readouterr().err
    index = _index(tmp_path / "store")
    assert list(index) == ["book/ch1/001.png", "book/ch2/001.png"]
    for given, row in index.items():
        assert row["folder"] == given
        doc = json.loads((tmp_path / "store" / "panels" / given / "panels.json").read_text())
        assert doc["filename"] == given
    assert not list((tmp_path / "store" / "panels").glob("001-*"))


def test_a_store_in_use_is_left_alone(prefect_harness, strips, tmp_path):
    from regionflow.storage.locks import StoreLocked

    now = time.time()
    owner = {"token": "t", "pid": 1, "host": "another-host", "since": now, "heartbeat": now}
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "pipeline.lock").write_text(json.dumps({**owner, "purpose": "pipeline"}))
    with pytest.raises(StoreLocked):
        webtoon_cuts(str(strips[0] / "ep0"), str(tmp_path))
    assert not (tmp_path / "cuts").exists()


def test_bad_inputs_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        args = parse(["cuts", str(tmp_path / "missing"), "-o", str(tmp_path)])
        args.handler(args)
    with pytest.raises(FileNotFoundError, match="matches no file"):
        args = parse(["panels", str(tmp_path / "*.jpg"), "-o", str(tmp_path)])
        args.handler(args)
    from regionflow.tasks.comics import ComicsConfig

    with pytest.raises(ValueError, match="width_policy"):
        ComicsConfig(width_policy="squash")
    with pytest.raises(ValueError, match="colour_gutter: unknown"):
        ComicsConfig.from_dict({"colour_gutter": "auto"})


def test_set_reaches_the_detector_and_a_bad_field_fails_first(tmp_path, monkeypatch):
    from regionflow.flows.cli import comics as cli_comics
    from regionflow.tasks.config import ConfigError

    page = tmp_path / "page.png"
    cv2.imwrite(str(page), synth_page(0, width=WIDTH).image)
    seen = {}

    def fake_run(flow, inputs, config, args):
        seen["config"] = config
        return {"pages": {}, "computed": 0, "reused": 0, "json": "", "index": ""}

    monkeypatch.setattr(cli_comics, "_run", fake_run)
    args = parse(["panels", str(page), "--rtl", "--set", "deskew=false", "--set", "tolerance=9",
                  "-o", str(tmp_path / "out")])  # fmt: skip
    args.handler(args)
    assert seen["config"] == {"direction": "rtl", "deskew": False, "tolerance": 9}
    args = parse(["panels", str(page), "--set", "deskw=false", "-o", str(tmp_path / "out")])
    with pytest.raises(ConfigError, match="deskw: unknown config field"):
        args.handler(args)
    assert not (tmp_path / "out").exists()


# Dask's scheduler binds its HTTP server to 8787 even without a dashboard and warns when another
# process holds that port (tasks/cluster.py could pass dashboard_address=":0").
def test_checkpoint_exports_regions_of_every_cut(prefect_harness, tmp_path):
    from regionflow.models.unet import RegionUNet
    from regionflow.storage.checkpoints import write_generator_checkpoint

    checkpoint = write_generator_checkpoint(
        tmp_path / "net.pt", RegionUNet().state_dict(), source="test"
    )
    comic = synth_strip(7, width=160, n_panels=(2, 3), bubbles=False)
    write_episode(tmp_path / "ep7", comic.image, 7)
    out = tmp_path / "out"
    result = webtoon_cuts(
        str(tmp_path / "ep7"),
        str(out),
        None,
        str(checkpoint),
        {"decoder": "simple", "short_side": None},
    )
    regions = result["regions"]
    assert regions["images"] == result["cuts"] == len(regions["crops"]) >= 2
    for crop, export in regions["crops"].items():
        labels = read(Path(export) / "labels.png", cv2.IMREAD_UNCHANGED)
        assert labels.dtype == np.uint16 and labels.shape == read(out / crop).shape[:2]
        assert labels.min() >= 1
        assert {"flat.png", "regions.parquet"} <= set(os.listdir(export))
    again = webtoon_cuts(
        str(tmp_path / "ep7"),
        str(out),
        None,
        str(checkpoint),
        {"decoder": "simple", "short_side": None},
    )
    assert not again["computed"] and again["regions"]["state"] == "Cached"
    assert again["regions"]["crops"] == regions["crops"]
