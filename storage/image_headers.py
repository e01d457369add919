"""Image file headers, read from the bytes before any decoding: the format by magic bytes,
the size, samples and depth each format declares, and whether the data reaches the format's
end (PNG `IEND`, JPEG `EOI`, the RIFF/BMP/TIFF/PNM sizes, GIF trailer).

What `storage.validation` judges a file by before it lets OpenCV decode it (so a
decompression bomb or a truncated file is refused without allocating its pixels).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class ValidationError(ValueError):
    """A file (or pair) that must be quarantined; `reason` is human-readable."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Header:
    format: str
    width: int
    height: int
    channels: int
    bit_depth: int
    has_alpha: bool = False
    trailing: bool = False


def sniff_format(data: bytes) -> str | None:
    """The image format by magic bytes (see `ImageInfo.format`), or None."""
    head = bytes(data[:16])
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM":
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if re.match(rb"P[1-6]\s", head):
        return "pnm"
    return None


def read_header(data: bytes) -> Header:
    fmt = sniff_format(data)
    if fmt is None:
        raise ValidationError(_not_an_image(data))
    reader = {
        "png": _png,
        "jpeg": _jpeg,
        "webp": _webp,
        "bmp": _bmp,
        "tiff": _tiff,
        "gif": _gif,
        "pnm": _pnm,
    }[fmt]
    try:
        return reader(data)
    except (struct.error, IndexError) as exc:
        raise ValidationError(f"truncated {fmt.upper()}: header incomplete ({exc})") from exc


def _not_an_image(data: bytes) -> str:
    head = data[:64]
    known = {
        b"\x00\x00\x00\x0cjP  ": "JPEG 2000",
        b"\xff\x4f\xff\x51": "JPEG 2000",
        b"#?RADIANCE": "Radiance HDR",
        b"v/1\x01": "OpenEXR",
        b"8BPS": "Photoshop",
        b"%PDF": "PDF",
        b"\x00\x00\x01\x00": "ICO",
    }
    for magic, name in known.items():
        if head.startswith(magic):
            return f"unsupported image format ({name})"
    if head[4:8] == b"ftyp":
        return f"unsupported image format (ISO media '{head[8:12].decode('latin-1')}': AVIF/HEIF)"
    text = data[:512].decode("utf-8", errors="replace")
    odd = sum(ch == "\ufffd" or not (ch.isprintable() or ch in "\r\n\t\f") for ch in text)
    if odd <= 0.05 * len(text) + 1:  # +1: a multi-byte character cut at the sample's end
        snippet = text[:40].replace("\n", " ").strip()
        return f"not an image: looks like text ({snippet!r})"
    return f"not an image: unrecognised content (starts with {data[:8].hex(' ')})"


def _png(data: bytes) -> Header:
    if len(data) < 33:
        raise ValidationError(f"truncated PNG: {len(data)} bytes, shorter than its header")
    if data[12:16] != b"IHDR" or struct.unpack(">I", data[8:12])[0] != 13:
        raise ValidationError("corrupt PNG: the first chunk is not IHDR")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(colour)
    if channels is None:
        raise ValidationError(f"corrupt PNG: colour type {colour}")
    has_alpha = colour in (4, 6)
    has_idat = False
    pos = 8
    last = b"IHDR"
    # Walk the chunk structure (lengths only, no CRCs: libpng checks those) to the IEND chunk.
    while True:
        if pos + 12 > len(data):
            raise ValidationError(
                f"truncated PNG: data ends at byte {len(data):,} after chunk {last.decode('latin-1')}, "
                "no IEND chunk"
            )
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ValidationError(
                f"truncated PNG: data ends at byte {len(data):,} inside chunk "
                f"{ctype.decode('latin-1')} (no IEND chunk)"
            )
        if ctype == b"IDAT":
            has_idat = True
        elif ctype == b"tRNS":
            has_alpha = True
        elif ctype == b"IEND":
            break
        last = ctype
        pos = end
    if not has_idat:
        raise ValidationError("corrupt PNG: no image data (IDAT chunk)")
    return Header("png", width, height, channels, depth, has_alpha, trailing=end < len(data))


def _jpeg(data: bytes) -> Header:
    pos = 2
    frame = None
    scan = None
    n = len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise ValidationError(f"corrupt JPEG: marker expected at byte {pos:,}")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            continue
        if marker == 0xD9:
            raise ValidationError("corrupt JPEG: end-of-image before any scan")
        if pos + 2 > n:
            break
        length = struct.unpack(">H", data[pos : pos + 2])[0]
        if length < 2:
            raise ValidationError(f"corrupt JPEG: segment length {length} at byte {pos:,}")
        if marker in _JPEG_SOF and frame is None:
            precision, height, width, components = struct.unpack(">BHHB", data[pos + 2 : pos + 8])
            frame = (precision, height, width, components)
        if marker == 0xDA:
            scan = pos
            break
        pos += length
    if frame is None:
        if scan is None and pos >= n:
            raise ValidationError("truncated JPEG: data ends before the frame header (SOF)")
        raise ValidationError("corrupt JPEG: no frame header (SOF)")
    precision, height, width, components = frame
    if height == 0:
        raise ValidationError("unsupported JPEG: height defined later in the stream (DNL)")
    if scan is None:
        raise ValidationError("truncated JPEG: data ends before the first scan")
    eoi = data.rfind(b"\xff\xd9")
    if eoi < scan:
        raise ValidationError("truncated JPEG: no end-of-image marker (EOI)")
    return Header(
        "jpeg",
        width,
        height,
        components if components in (1, 3, 4) else 3,
        precision,
        trailing=eoi + 2 < n,
    )


def _webp(data: bytes) -> Header:
    riff_size = struct.unpack("<I", data[4:8])[0]
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ValidationError("corrupt WebP: bad VP8 start code")
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", data[26:30]))
        has_alpha = False
    elif chunk == b"VP8L":
        if data[20] != 0x2F:
            raise ValidationError("corrupt WebP: bad VP8L signature")
        bits = struct.unpack("<I", data[21:25])[0]
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        has_alpha = bool((bits >> 28) & 1)
    elif chunk == b"VP8X":
        has_alpha = bool(data[20] & 0x10)
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
    else:
        raise ValidationError(f"corrupt WebP: unknown first chunk {chunk!r}")
    if len(data) < 8 + riff_size:
        raise ValidationError(f"truncated WebP: {len(data):,} bytes of {8 + riff_size:,}")
    return Header(
        "webp", width, height, 4 if has_alpha else 3, 8, has_alpha, len(data) > 8 + riff_size
    )


def _bmp(data: bytes) -> Header:
    offset, dib = struct.unpack("<II", data[10:18])
    if dib == 12:
        width, height, _, bpp = struct.unpack("<HHHH", data[18:26])
        compression = 0
    elif dib >= 40:
        width, height, _, bpp, compression = struct.unpack("<iiHHI", data[18:34])
    else:
        raise ValidationError(f"corrupt BMP: header size {dib}")
    height = abs(height)  # negative: stored top-down
    has_alpha = bpp == 32 and dib >= 56 and struct.unpack("<I", data[66:70])[0] != 0
    if compression in (0, 3, 6):  # uncompressed rows: the pixel array's size is known
        needed = offset + ((width * bpp + 31) // 32) * 4 * height
        if len(data) < needed:
            raise ValidationError(f"truncated BMP: {len(data):,} bytes of {needed:,}")
    channels = 1 if bpp <= 8 and not compression else 4 if has_alpha else 3
    # OpenCV reads palette BMPs as colour: a palette may hold colours, so no "grey" claim.
    return Header("bmp", width, height, max(channels, 3), min(bpp, 8), has_alpha)


_TIFF_TYPES = {1: "B", 3: "H", 4: "I", 16: "Q", 6: "b", 8: "h", 9: "i", 17: "q"}


def _tiff(data: bytes) -> Header:
    endian = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    if big:
        ifd = struct.unpack(endian + "Q", data[8:16])[0]
        count = struct.unpack(endian + "Q", data[ifd : ifd + 8])[0]
        entry_at, entry_size, inline = ifd + 8, 20, 8
    else:
        ifd = struct.unpack(endian + "I", data[4:8])[0]
        count = struct.unpack(endian + "H", data[ifd : ifd + 2])[0]
        entry_at, entry_size, inline = ifd + 2, 12, 4
    if count > 4096:
        raise ValidationError(f"corrupt TIFF: {count} directory entries")
    tags: dict[int, list[int]] = {}
    for i in range(count):
        at = entry_at + i * entry_size
        if big:
            tag, typ, n = struct.unpack(endian + "HHQ", data[at : at + 12])
            value_at = at + 12
        else:
            tag, typ, n = struct.unpack(endian + "HHI", data[at : at + 8])
            value_at = at + 8
        code = _TIFF_TYPES.get(typ)
        if code is None or tag not in (256, 257, 258, 262, 273, 277, 279, 324, 325, 338):
            continue
        size = struct.calcsize(code) * n
        if size > inline:
            value_at = struct.unpack(
                endian + ("Q" if big else "I"), data[value_at : value_at + inline]
            )[0]
        if value_at + size > len(data):
            raise ValidationError(f"truncated TIFF: tag {tag} values beyond the end of the file")
        if tag in tags:  # decoders disagree on which copy wins: a size could slip past the guard
            raise ValidationError(f"corrupt TIFF: tag {tag} repeated")
        tags[tag] = list(struct.unpack_from(f"{endian}{n}{code}", data, value_at))
    if 256 not in tags or 257 not in tags:
        raise ValidationError("corrupt TIFF: no image width/height tags")
    samples = tags.get(277, [1])[0]
    depth = tags.get(258, [1])[0]
    offsets, counts = tags.get(273) or tags.get(324), tags.get(279) or tags.get(325)
    if offsets and counts:
        end = max(o + c for o, c in zip(offsets, counts, strict=False))
        if end > len(data):
            raise ValidationError(
                f"truncated TIFF: image data runs to byte {end:,}, file has {len(data):,}"
            )
    photometric = tags.get(262, [2 if samples >= 3 else 1])[0]
    colour_samples = {2: 3, 5: 4, 6: 3, 8: 3}.get(photometric, 1)  # RGB, CMYK, YCbCr, CIELab
    # Extra samples beyond the colour ones are alpha (OpenCV writes RGBA without tag 338).
    has_alpha = samples > colour_samples
    return Header("tiff", tags[256][0], tags[257][0], samples, depth, has_alpha)


def _gif(data: bytes) -> Header:
    width, height = struct.unpack("<HH", data[6:10])
    if not data.rstrip(b"\x00").endswith(b";"):
        raise ValidationError("truncated GIF: no trailer")
    return Header("gif", width, height, 3, 8)


_PNM_TOKEN = re.compile(rb"(?:\s++|#[^\n]*+)*+(\d{1,12})(?!\d)")


def _pnm(data: bytes) -> Header:
    kind = data[1] - ord("0")
    tokens: list[int] = []
    pos = 2
    wanted = 2 if kind in (1, 4) else 3
    while len(tokens) < wanted:
        # Possessive quantifiers: no backtracking (a run of separators cannot hang ingest), and
        # at most 12 digits (a huge number is a bad header, not Python's int-size error).
        m = _PNM_TOKEN.match(data, pos)
        if not m:
            raise ValidationError("corrupt PNM: bad header")
        tokens.append(int(m[1]))
        pos = m.end()
    width, height = tokens[:2]
    maxval = tokens[2] if wanted == 3 else 1
    channels = 3 if kind in (3, 6) else 1
    depth = 16 if maxval > 255 else 8
    if kind in (4, 5, 6):  # binary: the pixel bytes' count is known
        row = (width + 7) // 8 if kind == 4 else width * channels * depth // 8
        needed = pos + 1 + row * height
        if len(data) < needed:
            raise ValidationError(f"truncated PNM: {len(data):,} bytes of {needed:,}")
    return Header("pnm", width, height, channels, depth)
