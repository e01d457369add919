"""Page inputs keep their paths: JSON filenames as given, output folders from relative paths,
an index from every input to its outputs (issue 14)."""

from __future__ import annotations

import csv
import io
import logging

import cv2
import numpy as np
import pytest

from regionflow.storage import comics as store_comics
from regionflow.storage.store import Store


@pytest.fixture
def book(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = np.full((40, 30, 3), 255, np.uint8)
    for rel in ("book/ch1/001.png", "book/ch1/002.png", "book/ch2/001.png", "book/ch2/001.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(rel, page)
    return tmp_path


def test_inputs_keep_the_path_as_given(book):
    pages = store_comics.page_inputs(
        ["book/ch2/001.png", "book/ch1", "book/ch2/*.jpg", "./book/ch1/001.png"]
    )
    assert [p.given for p in pages] == [
        "book/ch2/001.png",
        "book/ch1/001.png",
        "book/ch1/002.png",
        "book/ch2/001.jpg",
    ]  # the last spelling names a page already listed: listed once
    # Output folders: the relative path, file name included (001.png and 001.jpg stay apart).
    assert [p.name for p in pages] == [p.given for p in pages]
    absolute = store_comics.page_inputs([str(book / "book" / "ch1")])
    assert absolute[0].given == f"{book}/book/ch1/001.png"
    assert absolute[0].name == "book/ch1/001.png"  # relative to the working directory
    assert store_comics.page_output_name("/elsewhere/x y/p.png") == "elsewhere/x_y/p.png"
    assert "/" not in store_comics.record_id("book/ch1/001.png")
    assert store_comics.record_id("a/b") != store_comics.record_id("a--b")


def test_colliding_output_names_are_an_error(book):
    (book / "book" / "ch 3").mkdir()
    (book / "book" / "ch_3").mkdir()
    for d in ("ch 3", "ch_3"):
        cv2.imwrite(str(book / "book" / d / "1.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="share outputs"):
        store_comics.page_inputs(["book/ch 3", "book/ch_3"])


def test_index_maps_inputs_to_outputs_and_merges_runs(tmp_path):
    store = Store(str(tmp_path / "store"))

    def row(given, folder, n):
        doc = {"filename": given, "size": [30, 40], "panels": [[0, 0, 5, 5]] * n}
        store.write_json(doc, "panels", folder, "panels.json")
        return {
            "input": given,
            "source": f"/abs/{given}",
            "sha256": "0" * 64,
            "folder": folder,
            "json": f"panels/{folder}/panels.json",
            "overlay": f"panels/{folder}/overlay.png",
            "panels": n,
            "crops": " ".join(f"panels/{folder}/{i:02d}.png" for i in range(1, n + 1)),
        }

    store_comics.write_panels_index(
        store, [row("a/1.png", "a/1.png", 2), row("b/1.png", "b/1.png", 1)]
    )
    written = store_comics.write_panels_index(store, [row("./a/1.png", "a/1.png", 3)])
    rows = list(csv.DictReader(io.StringIO((tmp_path / "store/panels/index.csv").read_text())))
    assert [(r["input"], r["folder"], r["panels"]) for r in rows] == [
        ("b/1.png", "b/1.png", "1"),
        ("./a/1.png", "a/1.png", "3"),
    ]
    assert written["index"].endswith("index.csv")
    combined = store.read_json("panels", "panels.json")
    assert [p["filename"] for p in combined] == ["b/1.png", "./a/1.png"]


def test_temporary_server_lines_are_hidden_unless_verbose():
    from regionflow.flows.cli.common import quiet_temporary_server

    logger = logging.getLogger("prefect")
    record = logging.LogRecord(
        "prefect", logging.INFO, __file__, 1, "Starting temporary server on x", None, None
    )
    other = logging.LogRecord("prefect", logging.INFO, __file__, 1, "Created flow run", None, None)
    try:
        quiet_temporary_server(verbose=False)
        assert not logger.filter(record) and logger.filter(other)
        quiet_temporary_server(verbose=True)
        assert logger.filter(record)
    finally:
        quiet_temporary_server(verbose=True)
