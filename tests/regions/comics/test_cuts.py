import cv2
import numpy as np
import pytest

from regionflow.regions.comics.comic_synth import synth_strip
from regionflow.regions.comics.cuts import (
    Cut,
    RowStatistics,
    crop,
    cuts_from_statistics,
    detect_cuts,
    row_statistics,
)
from regionflow.regions.comics.panel_eval import evaluate_panels
from regionflow.regions.comics.strips import StripIndex, link_slices

W = 64
SMALL = {"min_gutter": 3, "min_cut_height": 8, "min_cut_area": 0}  # sizes for 64-px strips


def _seed_rough_reference(strip):
    """REFERENCE §2's rough rule, written plainly: gutter rows hold one single value; each run
    of other rows with a gutter row above and below is a cut, as (first row, height)."""
    gutter = [len(np.unique(strip[y])) == 1 for y in range(strip.shape[0])]
    out, start = [], None
    for y, is_gutter in enumerate(gutter):
        if not is_gutter and start is None:
            start = y
        elif is_gutter and start is not None:
            if start > 0:  # a run that starts at the top touches it
                out.append((start, y - start))
            start = None
    return out  # a run still open at the end touches the bottom


def _panel(strip, y0, y1, x0=0, x1=W, colour=(40, 90, 160)):
    strip[y0:y1, x0:x1] = colour
    strip[y0:y1, x0 : x0 + 2] = 0
    strip[y0:y1, x1 - 2 : x1] = 0


@pytest.fixture
def hand_strip():
    """White gutters; blocks touching the top and bottom, two panels and a bubble between."""
    s = np.full((90, W, 3), 255, np.uint8)
    _panel(s, 0, 5)  # touches the top
    _panel(s, 10, 30)  # panel A
    _panel(s, 36, 40, 20, 44, (0, 0, 0))  # a bubble-sized block
    _panel(s, 46, 70)  # panel B
    _panel(s, 76, 90)  # touches the bottom
    return s


def _jpeg(image, quality=90):
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def test_seed_rough_follows_the_described_rule(hand_strip):
    cuts = detect_cuts(hand_strip, mode="seed-rough")
    # Top and bottom blocks dropped, the bubble is its own cut, no minimum height.
    assert [c.box for c in cuts] == [(0, 10, W, 20), (0, 36, W, 4), (0, 46, W, 24)]
    assert [(c.y, c.h) for c in cuts] == _seed_rough_reference(hand_strip)


def test_seed_rough_matches_the_reference_on_random_strips():
    rng = np.random.default_rng(0)
    for _ in range(20):
        strip = np.empty((120, 16, 3), np.uint8)
        y = 0
        while y < 120:
            h = int(rng.integers(1, 9))
            kind = rng.integers(0, 4)
            if kind == 0:
                strip[y : y + h] = rng.integers(0, 256, (min(h, 120 - y), 16, 3))
            elif kind == 1:
                strip[y : y + h] = 255
            elif kind == 2:
                strip[y : y + h] = (10, 200, 30)  # tinted: one colour, three values
            else:
                strip[y : y + h] = 0
            y += h
        assert [(c.y, c.h) for c in detect_cuts(strip, mode="seed-rough")] == _seed_rough_reference(
            strip
        )


def test_seed_misses_tinted_gutters_and_jpeg_breaks_it(hand_strip):
    tinted = hand_strip.copy()
    tinted[(tinted == 255).all(axis=2)] = (230, 240, 250)
    assert detect_cuts(tinted, mode="seed-rough") == []
    assert len(detect_cuts(hand_strip, mode="seed-rough")) == 3
    assert detect_cuts(_jpeg(hand_strip), mode="seed-rough") == []


def test_ours_keeps_edges_and_separates_fragments(hand_strip):
    for image in (hand_strip, _jpeg(hand_strip)):
        cuts = detect_cuts(image, fragments="separate", **SMALL)
        panels = [c for c in cuts if c.kind == "panel"]
        assert [c.box for c in panels] == [(0, 10, W, 20), (0, 46, W, 24), (0, 76, W, 14)]
        assert [c.confidence for c in panels] == [1.0, 1.0, 0.5]  # the last touches the bottom
        fragments = [c for c in cuts if c.kind == "fragment"]
        assert (20, 36, 24, 4) in [c.box for c in fragments]  # x trimmed to the bubble


def test_fragments_merge_into_the_nearest_cut():
    s = np.full((80, W, 3), 255, np.uint8)
    _panel(s, 5, 30)
    _panel(s, 44, 48, 20, 40, (0, 0, 0))  # 14 rows below A, 12 above B
    _panel(s, 60, 75, 8, 56)
    merged = detect_cuts(s, fragments="merge", **SMALL)
    assert [c.box for c in merged] == [(0, 5, W, 25), (8, 44, 48, 31)]
    assert [c.kind for c in merged] == ["panel", "panel"]
    assert merged[1].confidence == pytest.approx(0.9)
    separate = detect_cuts(s, fragments="separate", **SMALL)
    assert [c.kind for c in separate] == ["panel", "fragment", "panel"]


@pytest.mark.parametrize("gutter", ["white", "black", "tinted", "gradient"])
def test_ours_finds_cuts_across_gutter_kinds_with_jpeg(gutter):
    for seed in (1, 2):
        sample = synth_strip(seed, gutter=gutter, jpeg_probability=1.0, jpeg_quality=(60, 80))
        cuts = [c for c in detect_cuts(sample.image, fragments="separate") if c.kind == "panel"]
        scores = evaluate_panels([cuts], [sample.panels])
        assert scores["f1"] == 1.0, (gutter, seed, [c.box for c in cuts], sample.panels)
        assert scores["reading_order"] == 1.0


def test_ours_beats_the_seed_on_a_small_synthetic_set():
    samples = [synth_strip(seed) for seed in range(12)]
    truth = [s.panels for s in samples]
    ours = [
        [c for c in detect_cuts(s.image, fragments="separate") if c.kind == "panel"]
        for s in samples
    ]
    seed = [detect_cuts(s.image, mode="seed-rough") for s in samples]
    f1 = evaluate_panels(ours, truth)["f1"]
    assert f1 >= 0.95
    assert f1 - evaluate_panels(seed, truth)["f1"] > 0.3


def test_flat_full_width_background_is_not_a_gutter():
    s = np.full((200, W, 3), 255, np.uint8)
    for y0, y1 in ((10, 40), (60, 90), (110, 140), (160, 190)):
        _panel(s, y0, y1)
    s[60:90] = (200, 80, 20)  # a frameless full-width panel with a flat sky...
    s[72:78, 20:40] = 0  # ...and a small figure in the middle of it
    auto = detect_cuts(s, fragments="separate", **SMALL)
    assert (0, 60, W, 30) in [c.box for c in auto if c.kind == "panel"]
    loose = detect_cuts(s, fragments="separate", gutter_colour=None, **SMALL)
    assert (0, 60, W, 30) not in [c.box for c in loose]  # uniform sky rows split it
    white = detect_cuts(s, fragments="separate", gutter_colour=(255, 255, 255), **SMALL)
    assert [c.box for c in white] == [c.box for c in auto]


def test_inset_panel_is_trimmed_on_a_gradient():
    s = np.empty((100, W, 3), np.uint8)
    s[:] = np.linspace(40, 220, 100).astype(np.uint8)[:, None, None]
    _panel(s, 20, 80, 10, 50, (0, 200, 255))
    cuts = detect_cuts(_jpeg(s), **SMALL)
    assert len(cuts) == 1
    c = cuts[0]
    assert (
        abs(c.x - 10) <= 1
        and abs(c.x + c.w - 50) <= 1
        and abs(c.y - 20) <= 1
        and abs(c.h - 60) <= 2
    )


def test_statistics_slice_by_slice_equal_the_whole_strip():
    sample = synth_strip(3, jpeg_probability=1.0)
    image = sample.image
    bounds = [0, 700, 701, 1500, image.shape[0]]
    slices = [image[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    index = StripIndex([s.shape for s in slices])
    parts = [row_statistics(index.place(s, i)) for i, s in enumerate(slices)]
    stats = RowStatistics.concatenate(parts)
    whole = row_statistics(link_slices(slices))
    for name in ("colour", "outliers", "uniform", "left", "right", "left_colour", "right_colour"):
        np.testing.assert_array_equal(getattr(stats, name), getattr(whole, name))
    assert cuts_from_statistics(stats) == detect_cuts(image)
    assert cuts_from_statistics(stats, mode="seed-rough") == detect_cuts(image, mode="seed-rough")


def test_seed_final_stage_crops_between_horizontal_lines():
    strip = np.full((60, 96, 3), 255, np.uint8)
    strip[10:50, 20:70] = (60, 120, 200)  # panel art that touches no gutter edge
    strip[12, 2:94] = 0  # a frame line across (almost) the whole width above the art ...
    strip[47, 2:94] = 0  # ... and one below it
    rough = detect_cuts(strip, mode="seed-rough")
    assert [(c.y, c.h) for c in rough] == [(10, 40)]
    (cut,) = detect_cuts(strip, mode="seed")
    assert 10 <= cut.y <= 13 and 46 <= cut.y + cut.h <= 48  # between the two lines (edges ±1 px)


def test_seed_final_stage_drops_a_cut_without_lines(hand_strip):
    bubble_only = np.full((40, W, 3), 255, np.uint8)
    cv2.ellipse(bubble_only, (32, 20), (20, 8), 0, 0, 360, (0, 0, 0), 2)
    assert len(detect_cuts(bubble_only, mode="seed-rough")) == 1
    assert detect_cuts(bubble_only, mode="seed") == []


def test_inputs_not_modified_and_crop(hand_strip):
    before = hand_strip.copy()
    cuts = detect_cuts(hand_strip, **SMALL)
    detect_cuts(hand_strip, mode="seed-rough")
    np.testing.assert_array_equal(hand_strip, before)
    view = crop(hand_strip, cuts[0])
    assert view.shape == (cuts[0].h, cuts[0].w, 3) and np.shares_memory(view, hand_strip)
    assert not np.shares_memory(crop(hand_strip, cuts[0], copy=True), hand_strip)
    with pytest.raises(ValueError, match="cut"):
        crop(hand_strip, Cut(0, 80, W, 20))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "fancy"}, "mode"),
        ({"fragments": "drop"}, "fragments"),
        ({"tolerance": -1}, "tolerance"),
        ({"gutter_colour": "white"}, "gutter_colour"),
        ({"gutter_colour": (1, 2)}, "gutter_colour"),
        ({"min_cut_height": -5}, "min_cut_height"),
        ({"outlier_fraction": 1.5}, "outlier_fraction"),
    ],
)
def test_bad_options_name_the_argument(kwargs, match, hand_strip):
    with pytest.raises(ValueError, match=match):
        detect_cuts(hand_strip, **kwargs)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), np.zeros((0, 4, 3), np.uint8)],
)
def test_bad_strip_names_the_argument(bad):
    with pytest.raises(ValueError, match="strip"):
        detect_cuts(bad)


def test_concatenate_checks_widths():
    a = row_statistics(np.zeros((3, 4, 3), np.uint8))
    b = row_statistics(np.zeros((3, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="parts"):
        RowStatistics.concatenate([a, b])


def _two_panel_strip(gutter, width=300):
    """Two bordered panels and a 90-px gap on a white, tinted or graded gutter."""
    h = 700
    strip = np.empty((h, width, 3), np.uint8)
    if gutter == "gradient":
        strip[:] = np.linspace(250, 170, h).astype(np.uint8)[:, None, None]
    else:
        strip[:] = (255, 255, 255) if gutter == "white" else (190, 220, 160)
    truth = [(20, 40, width - 40, 260), (20, 390, width - 40, 270)]
    for x, y, w, hh in truth:
        strip[y : y + hh, x : x + w] = (70, 120, 200)
        strip[y : y + 4, x : x + w] = strip[y + hh - 4 : y + hh, x : x + w] = 0
        strip[y : y + hh, x : x + 4] = strip[y : y + hh, x + w - 4 : x + w] = 0
        cv2.circle(strip, (x + w // 2, y + hh // 2), 30, (20, 200, 240), -1)
    return strip, truth


@pytest.mark.parametrize("gutter", ["white", "tinted", "gradient"])
@pytest.mark.parametrize("bridge", ["bubble", "art"])
def test_a_bubble_or_art_across_the_gap_does_not_join_cuts(gutter, bridge):
    strip, truth = _two_panel_strip(gutter)
    if bridge == "bubble":  # a tall bubble from one panel's bottom to the next one's top
        cv2.ellipse(strip, (150, 345), (55, 75), 0, 0, 360, (255, 255, 255), -1)
        cv2.ellipse(strip, (150, 345), (55, 75), 0, 0, 360, (0, 0, 0), 3)
        cv2.putText(strip, "OH", (130, 350), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)
    else:  # hair and an arm reaching down into the next panel
        cv2.ellipse(strip, (90, 340), (18, 80), 10, 0, 360, (30, 30, 30), -1)
        for dx in (-10, 0, 12):
            cv2.line(strip, (200 + dx, 280), (205 + 2 * dx, 410), (10, 10, 10), 4)
    strip = _jpeg(strip, 85)
    found = detect_cuts(strip)
    assert len(found) == 2, found
    assert evaluate_panels([found], [truth])["f1"] == 1.0
    assert len(detect_cuts(strip, bridges=False)) == 1  # the bridge joined them before


def test_a_narrow_figure_on_a_frameless_panel_stays_whole():
    strip = np.full((800, 300, 3), 255, np.uint8)
    strip[100:700, 120:180] = (60, 60, 60)  # a tall, narrow figure: as narrow everywhere
    cv2.circle(strip, (150, 110), 35, (60, 60, 60), -1)
    strip[390:420, 140:160] = 255
    strip[390:420, 148:152] = (60, 60, 60)  # a thin waist
    found = detect_cuts(strip)
    assert len(found) == 1 and found[0].h >= 600


@pytest.mark.slow
def test_a_300000_row_strip_is_cut_slice_by_slice(tmp_path):
    """A very tall episode (60 slices of 5,000 rows): statistics slice by slice, the cuts of
    every repeated panel, and overlays in viewable pieces."""
    from regionflow.tasks.comics import ComicsConfig, episode_cuts
    from regionflow.tasks.episodes import Episode, StripOverlay

    width, rows = 48, 5000
    piece = np.full((rows, width, 3), (200, 225, 240), np.uint8)  # a tinted gutter
    for y in range(200, rows - 300, 1000):  # four panels a slice, 700 rows each
        piece[y : y + 700, 4 : width - 4] = (40, 90, 160)
        piece[y + 300 : y + 330, 10:30] = 250
    for i in range(60):
        cv2.imwrite(str(tmp_path / f"{i + 1}.png"), piece)
    episode = Episode(tmp_path)
    assert episode.size == (width, 300_000)
    cfg = ComicsConfig()
    overlay = StripOverlay(episode.index, max_width=cfg.overlay_width)
    cuts = episode_cuts(episode, cfg, overlay)
    assert len(cuts) == 60 * 5
    assert all(c.h == 700 for c in cuts)
    assert overlay.n_pieces == -(-300_000 // cfg.overlay_piece_height)


def test_an_unreadable_slice_is_named_once(tmp_path):
    from regionflow.tasks.episodes import Episode

    cv2.imwrite(str(tmp_path / "1.png"), np.full((40, 30, 3), 255, np.uint8))
    (tmp_path / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a PNG cut short
    bad = tmp_path / "2.png"
    with pytest.raises(ValueError) as error:
        Episode(tmp_path, width_policy="pad").placed(1)
    assert str(error.value).count(str(bad)) == 1 and "not a readable image" in str(error.value)
