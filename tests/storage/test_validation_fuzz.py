"""Fuzzing ingest validation: random bytes and mutated valid files into decode_image/validate_pair.

The contract under test: whatever the bytes, `decode_image` and `validate_pair` either return
a valid sample or raise `ValidationError` with a non-empty reason; never another exception,
never a hang (each call runs under a SIGALRM time limit), and OpenCV never decodes an image
larger than ``max_pixels`` (a spy on ``cv2.imdecode`` checks every array it returns; a small
``max_pixels`` makes a bypass of the decompression-bomb guard visible at tiny sizes).

Deterministic (``derandomize=True``, no example database). Seeds are small files that OpenCV
encodes here in every format `decode_image` knows.
"""

from __future__ import annotations

import contextlib
import signal
import struct
import threading
import zlib
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from regionflow.storage.validation import ValidationError, decode_image
from regionflow.tasks.ingest import validate_pair

MAX_PIXELS = 4096
TIME_LIMIT_S = 2.0  # a seed decodes in well under 10 ms

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Tests that are expected to find a bug: no shrinking (each failing example may cost the
# time limit), just generate until the first failure.
FIND = settings(FUZZ, phases=[Phase.explicit, Phase.generate])


# --- seeds ----------------------------------------------------------------------------------

_RNG = np.random.default_rng(2024)
COLOUR = _RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)
GREY = _RNG.integers(0, 256, (20, 30), dtype=np.uint8)
BGRA = np.dstack([COLOUR, _RNG.integers(0, 256, (20, 30), dtype=np.uint8)])
DEEP = _RNG.integers(0, 65536, (20, 30, 3), dtype=np.uint16)
REGION_MAP = np.zeros((20, 30, 3), np.uint8)
REGION_MAP[:, 15:] = (10, 200, 30)
REGION_MAP[12:, :8] = (250, 0, 90)


def _encode(ext: str, array: np.ndarray, params: tuple[int, ...] = ()) -> bytes:
    ok, buf = cv2.imencode(ext, array, list(params))
    assert ok, ext
    return buf.tobytes()


SEEDS: dict[str, bytes] = {
    "png": _encode(".png", COLOUR),
    "png_grey": _encode(".png", GREY),
    "png_alpha": _encode(".png", BGRA),
    "png_16bit": _encode(".png", DEEP),
    "jpeg": _encode(".jpg", COLOUR),
    "jpeg_grey": _encode(".jpg", GREY),
    "jpeg_progressive": _encode(".jpg", COLOUR, (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)),
    "webp": _encode(".webp", COLOUR),
    "webp_lossless": _encode(".webp", BGRA, (cv2.IMWRITE_WEBP_QUALITY, 101)),
    "bmp": _encode(".bmp", COLOUR),
    "bmp_grey": _encode(".bmp", GREY),
    "tiff": _encode(".tiff", COLOUR),
    "tiff_16bit": _encode(".tiff", DEEP),
    "gif": _encode(".gif", COLOUR),
    "ppm": _encode(".ppm", COLOUR),
    "pgm": _encode(".pgm", GREY),
    "ppm_ascii": _encode(".ppm", COLOUR, (cv2.IMWRITE_PXM_BINARY, 0)),
    "region_png": _encode(".png", REGION_MAP),
}
MAGICS = (
    b"\x89PNG\r\n\x1a\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
    b"\xff\xd8\xff",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"RIFF\x00\x01\x00\x00WEBPVP8 ",
    b"RIFF\x00\x01\x00\x00WEBPVP8L",
    b"RIFF\x00\x01\x00\x00WEBPVP8X",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    b"GIF89a",
    b"P1 ",
    b"P3\n",
    b"P5 ",
    b"P6\n",
)


def test_seeds_are_valid():
    for name, data in SEEDS.items():
        image, _ = decode_image(data, max_pixels=MAX_PIXELS)
        assert image.shape == (20, 30, 3), name


# --- the contract ---------------------------------------------------------------------------


class Hang(Exception):
    """A call ran past TIME_LIMIT_S."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `Hang` in the block after `seconds` (SIGALRM; Python code, regexes included, is
    interrupted; a call stuck inside C code is reported when it returns)."""
    if threading.current_thread() is not threading.main_thread():  # signals need the main thread
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def decoded_shapes() -> Iterator[list[tuple[int, ...] | None]]:
    """Record the shape of every array cv2.imdecode returns in the block (None: it failed)."""
    real = cv2.imdecode
    shapes: list[tuple[int, ...] | None] = []

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        shapes.append(None if out is None else out.shape)
        return out

    cv2.imdecode = spy
    try:
        yield shapes
    finally:
        cv2.imdecode = real


def assert_within_budget(shapes: list[tuple[int, ...] | None]) -> None:
    for shape in shapes:
        if shape is not None:
            assert shape[0] * shape[1] <= MAX_PIXELS, f"OpenCV decoded {shape}: over max_pixels"


def check_decode(
    data: bytes | bytearray | memoryview, *, seconds: float = TIME_LIMIT_S
) -> list[tuple[int, ...] | None]:
    """decode_image's contract on `data`; returns what cv2.imdecode produced."""
    before = bytes(data)
    with decoded_shapes() as shapes, time_limit(seconds):
        try:
            image, info = decode_image(data, max_pixels=MAX_PIXELS)
        except ValidationError as error:
            assert isinstance(error.reason, str) and error.reason.strip()
            assert str(error) == error.reason
            image = None
    assert bytes(data) == before, "input bytes modified"
    assert_within_budget(shapes)
    event("accepted" if image is not None else "refused")
    event("reached cv2.imdecode" if shapes else "refused before decoding")
    if image is not None:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert image.shape[0] * image.shape[1] <= MAX_PIXELS
        assert image.shape[:2] in ((info.height, info.width), (info.width, info.height))
        assert info.format in ("png", "jpeg", "webp", "bmp", "tiff", "gif", "pnm")
    return shapes


buffers = st.sampled_from([bytes, bytearray, memoryview])


# --- random bytes ---------------------------------------------------------------------------


@settings(FUZZ, max_examples=300)
@given(data=st.binary(max_size=4096), kind=buffers)
def test_random_bytes(data, kind):
    check_decode(kind(data))


@settings(FUZZ, max_examples=300)
@given(magic=st.sampled_from(MAGICS), tail=st.binary(max_size=2048), kind=buffers)
def test_random_bytes_after_a_format_magic(magic, tail, kind):
    # Past the magic bytes every header reader runs on garbage.
    check_decode(kind(magic + tail))


# --- mutated valid files --------------------------------------------------------------------


def _png_chunk(ctype: bytes, payload: bytes, *, good_crc: bool = True) -> bytes:
    crc = zlib.crc32(ctype + payload) if good_crc else zlib.crc32(ctype + payload) ^ 1
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", crc)


def _jpeg_sof(data: bytes) -> int | None:
    """Offset of the first SOF marker's 0xFF, walking the segments, or None."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return pos
        if marker == 0xDA:
            return None
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return None


def _tiff_entries(data: bytes) -> tuple[str, int, int]:
    """(endian, offset of the first IFD's entries, entry count) of a classic TIFF."""
    endian = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack(endian + "I", data[4:8])[0]
    return endian, ifd + 2, struct.unpack(endian + "H", data[ifd : ifd + 2])[0]


def set_dimensions(name: str, data: bytes, width: int, height: int) -> bytes:
    """Rewrite the seed's header size fields (each clipped to what the field can hold) the
    way the format's decoder reads them; checksums repaired so decoders get past them."""
    out = bytearray(data)
    fmt = name.split("_")[0]
    if fmt in ("png", "region"):
        w, h = width % 2**32, height % 2**32
        out[16:24] = struct.pack(">II", w, h)
        out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])))
    elif fmt == "jpeg":
        sof = _jpeg_sof(data)
        assert sof is not None
        out[sof + 5 : sof + 9] = struct.pack(">HH", height % 2**16, width % 2**16)
    elif fmt == "bmp":
        out[18:26] = struct.pack("<ii", width % 2**31, height % 2**31)
    elif fmt == "gif":
        out[6:10] = struct.pack("<HH", width % 2**16, height % 2**16)
    elif fmt == "webp":
        chunk = bytes(out[12:16])
        if chunk == b"VP8 ":
            out[26:30] = struct.pack("<HH", width % 2**14, height % 2**14)
        elif chunk == b"VP8L":
            bits = struct.unpack("<I", out[21:25])[0] & ~((1 << 28) - 1)
            bits |= ((width - 1) % 2**14) | (((height - 1) % 2**14) << 14)
            out[21:25] = struct.pack("<I", bits)
        else:  # VP8X canvas
            out[24:27] = ((width - 1) % 2**24).to_bytes(3, "little")
            out[27:30] = ((height - 1) % 2**24).to_bytes(3, "little")
    elif fmt == "tiff":
        endian, at, count = _tiff_entries(data)
        for i in range(count):
            entry = at + 12 * i
            tag = struct.unpack(endian + "H", out[entry : entry + 2])[0]
            if tag in (256, 257):
                value = (width if tag == 256 else height) % 2**32
                out[entry : entry + 12] = struct.pack(endian + "HHII", tag, 4, 1, value)
    elif fmt in ("ppm", "pgm"):
        kind, rest = data[:2], data[2:]
        tokens = rest.split(maxsplit=3)  # width, height, maxval, pixels
        return kind + b"\n%d %d\n%s\n" % (width, height, tokens[2]) + tokens[3]
    else:
        raise AssertionError(name)
    return bytes(out)


def claimed_size(name: str, width: int, height: int) -> tuple[int, int]:
    """The size a decoder reads after `set_dimensions` (the fields' wrap-around applied)."""
    fmt = name.split("_")[0]
    if fmt in ("png", "region", "tiff"):
        return width % 2**32, height % 2**32
    if fmt in ("jpeg", "gif"):
        return width % 2**16, height % 2**16
    if fmt == "bmp":
        return width % 2**31, height % 2**31
    if fmt == "webp":
        chunk = SEEDS[name][12:16]
        if chunk == b"VP8 ":
            return width % 2**14, height % 2**14
        if chunk == b"VP8L":
            return (width - 1) % 2**14 + 1, (height - 1) % 2**14 + 1
        return (width - 1) % 2**24 + 1, (height - 1) % 2**24 + 1
    return width, height


dimensions = st.one_of(
    st.integers(0, 2**32 - 1),
    st.sampled_from([0, 1, 2, 29, 30, 31, 64, 4096, 4097, 65535, 65536, 2**24, 2**31 - 1]),
)


@st.composite
def mutations(draw, data: bytes) -> bytes:
    """1–4 of: truncation, bit flips, byte overwrites, insertions, deletions, appended bytes,
    an inserted PNG chunk. Positions favour the first 64 bytes, where the headers are."""
    out = bytearray(data)

    def position(size: int) -> int:
        if size == 0:
            return 0
        near = draw(st.booleans())
        return draw(st.integers(0, min(size, 64) - 1 if near else size - 1))

    for op in draw(
        st.lists(
            st.sampled_from(["truncate", "flip", "overwrite", "insert", "delete", "append"]),
            min_size=1,
            max_size=4,
        )
    ):
        if op == "truncate":
            del out[draw(st.integers(0, len(out))) :]
        elif op == "flip" and out:
            for _ in range(draw(st.integers(1, 8))):
                out[position(len(out))] ^= 1 << draw(st.integers(0, 7))
        elif op == "overwrite" and out:
            at = position(len(out))
            patch = draw(st.binary(min_size=1, max_size=8))
            out[at : at + len(patch)] = patch
        elif op == "insert":
            at = position(len(out))
            out[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete" and out:
            at = position(len(out))
            del out[at : at + draw(st.integers(1, 64))]
        elif op == "append":
            out += draw(st.binary(min_size=1, max_size=64))
    return bytes(out)


@settings(FUZZ, max_examples=400)
@given(data=st.sampled_from(sorted(SEEDS)).flatmap(lambda name: mutations(SEEDS[name])))
def test_mutated_files(data):
    check_decode(data)


@st.composite
def payload_corruptions(draw) -> bytes:
    """A seed with bytes flipped or overwritten past its first 64 bytes (the header intact,
    so that most reach the decoder), and the file's end kept."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    out = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 16))):
        at = draw(st.integers(64, len(out) - 1))
        if draw(st.booleans()):
            out[at] ^= 1 << draw(st.integers(0, 7))
        else:
            out[at] = draw(st.integers(0, 255))
    return bytes(out)


@settings(FUZZ, max_examples=300)
@given(data=payload_corruptions())
def test_corrupted_pixel_data(data):
    check_decode(data)


@settings(FUZZ, max_examples=300)
@given(
    name=st.sampled_from(sorted(SEEDS)),
    width=dimensions,
    height=dimensions,
    data=st.data(),
)
def test_header_dimension_edits(name, width, height, data):
    edited = set_dimensions(name, SEEDS[name], width, height)
    if data.draw(st.booleans(), label="also_mutated"):
        edited = data.draw(mutations(edited))
        check_decode(edited)
        return
    shapes = check_decode(edited)
    w, h = claimed_size(name, width, height)
    if w * h > MAX_PIXELS:
        # The bomb guard must stop it before OpenCV allocates anything.
        assert shapes == [], f"{name}: {w}×{h} reached cv2.imdecode"


@FUZZ
@given(
    where=st.sampled_from(["after_ihdr", "before_iend"]),
    ctype=st.sampled_from([b"acTL", b"fcTL", b"tRNS", b"PLTE", b"IDAT", b"IEND", b"IHDR", b"zzZz"]),
    payload=st.one_of(
        st.binary(max_size=64),
        st.tuples(dimensions, dimensions, st.integers(0, 2**16 - 1), st.integers(0, 2**16 - 1)).map(
            # An APNG frame control: sequence, width, height, x, y, delays, dispose, blend.
            lambda t: struct.pack(">IIIIIHHBB", 0, t[0], t[1], t[2], t[3], 1, 10, 0, 0)
        ),
    ),
    good_crc=st.booleans(),
    seed=st.sampled_from(["png", "png_alpha", "png_grey"]),
)
def test_png_with_extra_chunks(where, ctype, payload, good_crc, seed):
    data = SEEDS[seed]
    at = 33 if where == "after_ihdr" else len(data) - 12
    extra = _png_chunk(ctype, payload, good_crc=good_crc)
    if ctype == b"fcTL":  # an animation control first, as APNG wants
        extra = _png_chunk(b"acTL", struct.pack(">II", 1, 0)) + extra
    check_decode(data[:at] + extra + data[at:])


@st.composite
def tiff_ifd_edits(draw) -> bytes:
    """A seed TIFF whose first directory was edited entry by entry, rewritten at the end."""
    name = draw(st.sampled_from(["tiff", "tiff_16bit"]))
    data = bytearray(SEEDS[name])
    endian, at, count = _tiff_entries(bytes(data))
    entries = [bytearray(data[at + 12 * i : at + 12 * (i + 1)]) for i in range(count)]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["type", "count", "value", "delete", "duplicate", "swap"]))
        k = draw(st.integers(0, len(entries) - 1)) if entries else None
        if k is None:
            break
        if op == "type":
            entries[k][2:4] = struct.pack(endian + "H", draw(st.integers(0, 18)))
        elif op == "count":
            entries[k][4:8] = struct.pack(endian + "I", draw(dimensions))
        elif op == "value":
            entries[k][8:12] = struct.pack(endian + "I", draw(dimensions))
        elif op == "delete":
            del entries[k]
        elif op == "duplicate":
            entries.insert(k + 1, bytearray(entries[k]))  # size tags too: the bypass found once
        else:
            j = draw(st.integers(0, len(entries) - 1))
            entries[k], entries[j] = entries[j], entries[k]
    ifd = len(data)
    data += struct.pack(endian + "H", len(entries)) + b"".join(entries) + b"\x00" * 4
    data[4:8] = struct.pack(endian + "I", ifd)
    return bytes(data)


@settings(FUZZ, max_examples=200)
@given(data=tiff_ifd_edits())
def test_tiff_directory_edits(data):
    check_decode(data)


# --- validate_pair --------------------------------------------------------------------------


@st.composite
def pair_inputs(draw) -> tuple[bytes, bytes | None]:
    def one(role: str) -> bytes:
        how = draw(st.sampled_from(["valid", "mutated", "random", "resized"]), label=role)
        name = draw(st.sampled_from(sorted(SEEDS)), label=f"{role}_seed")
        if how == "valid":
            return SEEDS[name]
        if how == "mutated":
            return draw(mutations(SEEDS[name]))
        if how == "random":
            return draw(st.binary(max_size=512))
        h, w = draw(st.integers(1, 80)), draw(st.integers(1, 80))
        array = cv2.resize(REGION_MAP if role == "region" else COLOUR, (w, h), cv2.INTER_NEAREST)
        return _encode(draw(st.sampled_from([".png", ".bmp", ".jpg"])), array)

    image = one("image")
    region = (
        None if draw(st.booleans(), label="no_region") and draw(st.booleans()) else one("region")
    )
    return image, region


@settings(FUZZ, max_examples=200)
@given(inputs=pair_inputs(), max_size_mismatch=st.integers(0, 3))
def test_validate_pair(inputs, max_size_mismatch):
    image_bytes, region_bytes = inputs
    with decoded_shapes() as shapes, time_limit(2 * TIME_LIMIT_S):
        try:
            sample = validate_pair(
                image_bytes,
                region_bytes,
                max_pixels=MAX_PIXELS,
                max_size_mismatch=max_size_mismatch,
                image_name="x.png",
                region_name="x.region.png",
            )
        except ValidationError as error:
            assert isinstance(error.reason, str) and error.reason.strip()
            event("refused")
            return
        finally:
            assert_within_budget(shapes)
    event("accepted" if region_bytes is not None else "accepted, no region map")
    image = sample.image
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[0] * image.shape[1] <= MAX_PIXELS
    if region_bytes is None:
        assert sample.region_map is None
        return
    region = sample.region_map
    assert region.dtype == np.uint8 and region.shape == image.shape
    assert not (region == region[:1, :1]).all()  # one colour is quarantined
    # The map as decoded alone: aligned (cropped/extended) only when its size differed.
    alone, _ = decode_image(region_bytes, max_pixels=MAX_PIXELS)
    assert ("size_mismatch_aligned" in sample.flags) == (alone.shape != image.shape)
    h, w = min(alone.shape[0], image.shape[0]), min(alone.shape[1], image.shape[1])
    np.testing.assert_array_equal(region[:h, :w], alone[:h, :w])
    assert all(isinstance(flag, str) and flag for flag in sample.flags)


# --- bugs this fuzzing found (now fixed in storage/image_headers.py and
# regions/danbooregion/labels.py) ---


def _tiff_with_duplicate_size_tags(width: int, height: int) -> bytes:
    """A valid TIFF of (height, width) whose IFD then repeats ImageWidth/ImageLength = 10."""
    data = bytearray(_encode(".tiff", np.zeros((height, width, 3), np.uint8)))
    endian, at, count = _tiff_entries(bytes(data))
    entries = [bytes(data[at + 12 * i : at + 12 * (i + 1)]) for i in range(count)]
    for tag in (256, 257):
        entries.append(struct.pack(endian + "HHIHH", tag, 3, 1, 10, 0))
    # Stable sort: each original size tag stays first, its duplicate second.
    entries.sort(key=lambda e: struct.unpack(endian + "H", e[:2])[0])
    ifd = len(data)
    data += struct.pack(endian + "H", len(entries)) + b"".join(entries) + b"\x00" * 4
    data[4:8] = struct.pack(endian + "I", ifd)
    return bytes(data)


def test_tiff_repeated_size_tags_do_not_bypass_the_pixel_limit():
    data = _tiff_with_duplicate_size_tags(100, 100)  # 10,000 px > MAX_PIXELS, header says 10×10
    with pytest.raises(ValidationError), decoded_shapes() as shapes:
        decode_image(data, max_pixels=MAX_PIXELS)
    assert_within_budget(shapes)


def _run_pnm(data: bytes, seconds: float = 1.0) -> None:
    with time_limit(seconds):
        try:
            decode_image(data, max_pixels=MAX_PIXELS)
        except ValidationError as error:
            assert error.reason


def test_pnm_header_whitespace_run_does_not_hang():
    _run_pnm(b"P6" + b" " * 40 + b"x")


def test_pnm_header_comment_run_does_not_hang():
    _run_pnm(b"P5 " + b"#" * 40)


def test_pnm_header_huge_number_is_a_validation_error():
    data = b"P6 " + b"9" * 5000 + b" 1 255\n" + b"\x00" * 16
    with pytest.raises(ValidationError):
        decode_image(data, max_pixels=MAX_PIXELS)


PNM_WHITESPACE = st.sampled_from([b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c"])


def pnm_separators(
    max_size: int, *, min_size: int = 0, bare_hash: bool = True
) -> st.SearchStrategy[bytes]:
    """Whitespace and comment lines between PNM header fields, up to `max_size` pieces; with
    `bare_hash` also a lone "#" (a comment that swallows what follows on its line)."""
    pieces = [
        PNM_WHITESPACE,
        st.binary(max_size=12).map(lambda b: b"#" + b.replace(b"\n", b"") + b"\n"),
    ]
    if bare_hash:
        pieces.append(st.just(b"#"))
    return st.lists(st.one_of(*pieces), min_size=min_size, max_size=max_size).map(b"".join)


pnm_values = st.one_of(
    st.integers(0, 64).map(b"%d".__mod__),
    st.integers(0, 70000).map(b"%d".__mod__),
    st.binary(max_size=3),
)
pnm_kinds = st.sampled_from([b"P1", b"P2", b"P3", b"P4", b"P5", b"P6"])


@st.composite
def pnm_files(draw) -> bytes:
    """Well-formed PNM headers with small sizes (so most reach the decoder), any separators
    and maxval, then pixel bytes of about the right count; sometimes mutated."""
    kind = draw(pnm_kinds)
    width, height = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    numbers = [width, height]
    if kind not in (b"P1", b"P4"):
        numbers.append(
            draw(st.one_of(st.sampled_from([1, 255, 256, 65535]), st.integers(0, 70000)))
        )
    header = kind
    for number in numbers:
        separator = draw(PNM_WHITESPACE) + draw(pnm_separators(3, bare_hash=False))
        header += separator + b"%d" % number
    header += draw(st.sampled_from([b" ", b"\n", b"\r\n"]))
    if kind in (b"P1", b"P2", b"P3"):
        pixels = draw(st.text("0123456789 \n", max_size=512)).encode()
    else:
        channels = 3 if kind == b"P6" else 1
        depth = 2 if kind != b"P4" and numbers[-1] > 255 else 1
        row = (width + 7) // 8 if kind == b"P4" else width * channels * depth
        pixels = draw(st.binary(min_size=0, max_size=row * height + 8))
        if draw(st.booleans()):
            pixels = pixels.ljust(row * height, b"\x7f")
    data = header + pixels
    return draw(mutations(data)) if draw(st.integers(0, 3)) == 0 else data


@settings(FUZZ, max_examples=200)
@given(data=pnm_files())
def test_pnm_files(data):
    check_decode(data)


@settings(FUZZ, max_examples=200)
@given(
    kind=pnm_kinds,
    # Up to 8 separator pieces per field; long runs are the next test's job.
    fields=st.lists(st.tuples(pnm_separators(8), pnm_values), min_size=2, max_size=4),
    tail=st.binary(max_size=1024),
)
def test_pnm_headers(kind, fields, tail):
    check_decode(kind + b" " + b"".join(sep + value for sep, value in fields) + tail)


# Runs of one separator character, as a header padded with spaces or blank lines would have.
pnm_runs = st.tuples(st.sampled_from([b" ", b"\n", b"\t", b"#"]), st.integers(1, 64)).map(
    lambda t: t[0] * t[1]
)


@FIND
@given(
    kind=pnm_kinds,
    fields=st.lists(st.tuples(st.one_of(pnm_runs, pnm_separators(8)), pnm_values), max_size=4),
    tail=st.binary(max_size=64),
)
def test_pnm_headers_with_separator_runs(kind, fields, tail):
    data = kind + b" " + b"".join(sep + value for sep, value in fields) + tail
    check_decode(data, seconds=0.5)


# --- the checks themselves can fail ---------------------------------------------------------


def test_budget_check_sees_an_oversized_decode():
    with decoded_shapes() as shapes:
        cv2.imdecode(np.frombuffer(_encode(".png", np.zeros((70, 70), np.uint8)), np.uint8), 1)
    assert shapes == [(70, 70, 3)]
    with pytest.raises(AssertionError, match="over max_pixels"):
        assert_within_budget(shapes)


def test_time_limit_interrupts_a_regex():
    import re

    with pytest.raises(Hang), time_limit(0.2):
        re.match(rb"(?:\s+)*x", b" " * 64)
