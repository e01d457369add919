"""Safe extraction of dataset archives: zip, tar (.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz) and
multipart zips (`name.zip.001`, `.002`, … — byte-wise pieces of one zip, as `split` makes them).

Long because zip, damaged-zip recovery and tar members all go through one set of safety checks,
limits and one atomic publish; kept together so a check added for one format holds for all.

Safety, member by member (a refused member is reported with a reason and the rest extracted):

- names: no absolute paths (`/x`, `C:\\x`), no `..` components, no NUL; `\\` counts as a separator;
- links: symlinks are created only after every file is written (so nothing is ever written
  through a link), only with a relative target that exists and resolves inside the extraction
  directory, and they are re-checked until no link escapes; tar hard links only to a regular
  file already extracted from the same archive; device files and fifos are refused;
- limits (`ArchiveLimits`): member count, per-member and total unpacked size, and a compression
  ratio guard per zip member and for the whole archive (zip bombs); zip members that share one
  local header (the overlapping-entry bomb) are refused.

Files are written with mode 0o644 and directories with the default mode: permission bits,
owners and times stored in the archive are not applied (a dataset needs none of them).

Atomicity: members go into a hidden temporary sibling of `dest_dir`; a completion record
(`.regionflow-extracted.json`) is written last, then the directory is renamed into place. A
crash leaves either no `dest_dir` or a complete one; stale temporaries of dead processes are
removed by the next call. Calling again with the same archive (same part names, sizes and
mtimes) and limits returns the recorded report without extracting.

Damaged zips ("repair"; the DanbooRegion2020 parts need it), tolerated where zipfile can be
helped:

- data before the zip (self-extractors, a stray prefix): zipfile's own offset correction;
- central-directory entries whose local-header offsets are wrong (a wrong central-directory
  offset, offsets relative to a disk of a spanned archive): each member's local header is found
  again (a constant shift learnt from the first one, else a scan of the archive for its header);
- no usable central directory (truncated archive, last part missing): members are recovered by
  walking the local headers — stored members with sizes in the header, deflate and bzip2
  members even with a trailing data descriptor (not zip64 ones); the loss is reported as a
  refused `<archive>`.
Encrypted members are refused. Repairs performed are listed in `ExtractReport.repaired`.
"""

from __future__ import annotations

import bz2
import contextlib
import dataclasses
import io
import json
import os
import re
import secrets
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from regionflow.storage.atomic import fsync_directory
from regionflow.storage.processes import pid_alive

MARKER = ".regionflow-extracted.json"
ARCHIVE_MEMBER = "<archive>"  # the name refused entries use for whole-archive problems
_RECORD_VERSION = 1
_CHUNK = 1 << 20
_MAX_LINK_TARGET = 4096
_SPECIAL_TYPES = (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK)
_PART_RE = re.compile(r"^(?P<base>.+)\.(?P<num>\d{3,})$")


class ArchiveError(ValueError):
    """The input is not an archive we can read, or its parts are incomplete."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Refusal thresholds. Defaults fit DanbooRegion2020 (≈11k members, a few GB) with room.

    max_ratio applies to a zip member whose unpacked size exceeds `ratio_min_bytes` (unpacked /
    compressed), and to the whole archive once the unpacked total exceeds
    `archive_ratio_min_bytes` (total unpacked / archive size; catches gzip and bzip2 bombs).
    """

    max_members: int = 1_000_000
    max_member_bytes: int = 8 << 30
    max_total_bytes: int = 128 << 30
    max_ratio: float = 250.0
    ratio_min_bytes: int = 8 << 20
    archive_ratio_min_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not value > 0:
                raise ValueError(f"{f.name}: must be positive, got {value!r}")


@dataclass
class ExtractReport:
    """What `extract_archive` did. Paths are relative to the destination, with `/`.

    extracted: regular files and links created (directories are not listed).
    refused: (member name as stored, reason); `<archive>` names whole-archive problems
        (truncation, a missing central directory), after which members may be missing.
    repaired: notes on repairs of a damaged zip.
    """

    extracted: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """False when the archive itself was damaged so that members may be missing."""
        return not any(name == ARCHIVE_MEMBER for name, _ in self.refused)


# ---------------------------------------------------------------------------------------------
# Multipart stream


class MultipartReader(io.RawIOBase):
    """A read-only, seekable file object over the concatenation of `parts` (no temporary copy)."""

    def __init__(self, parts: Sequence[str | os.PathLike[str]]):
        super().__init__()
        if not parts:
            raise ValueError("parts: need at least one file")
        self._paths = [Path(p) for p in parts]
        self._files: list[IO[bytes]] = []
        try:
            for p in self._paths:
                self._files.append(open(p, "rb"))  # noqa: SIM115 - closed in close()
        except BaseException:
            for f in self._files:
                f.close()
            raise
        self._starts: list[int] = []
        total = 0
        for f in self._files:
            self._starts.append(total)
            total += os.fstat(f.fileno()).st_size
        self._size = total
        self._pos = 0

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"whence: invalid value {whence!r}")
        if pos < 0:
            raise OSError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        # Fill across part boundaries: zipfile expects full reads from its file object.
        while filled < len(view) and self._pos < self._size:
            index = bisect_right(self._starts, self._pos) - 1
            f = self._files[index]
            f.seek(self._pos - self._starts[index])
            n = f.readinto(view[filled:])
            if not n:
                raise OSError(f"{self._paths[index]} shrank while being read")
            filled += n
            self._pos += n
        return filled

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def find_parts(path: str | os.PathLike[str]) -> list[Path]:
    """All parts of a multipart archive named like `path` (`x.zip.001` → `x.zip.001, .002, …`).

    A path without a numeric suffix is its own single part. Raises ArchiveError if a part
    between the first and the last found is missing.
    """
    path = Path(path)
    m = _PART_RE.match(path.name)
    if not m:
        return [path]
    base, width = m["base"], len(m["num"])
    found: dict[int, Path] = {}
    for sibling in path.parent.iterdir():
        sm = _PART_RE.match(sibling.name)
        if sm and sm["base"] == base and len(sm["num"]) == width and sibling.is_file():
            found[int(sm["num"])] = sibling
    if not found:
        raise FileNotFoundError(path)
    first = min(found)
    if first > 1:
        raise ArchiveError(f"{base}.{1:0{width}d}: first part missing")
    missing = [n for n in range(1, max(found) + 1) if n not in found]
    if missing:
        names = ", ".join(f"{base}.{n:0{width}d}" for n in missing)
        raise ArchiveError(f"multipart archive {base}: missing part(s) {names}")
    return [found[n] for n in sorted(found)]


def _as_parts(archive: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    if isinstance(archive, str | os.PathLike):
        return find_parts(archive)
    parts = [Path(p) for p in archive]
    if not parts:
        raise ValueError("archive_path_or_parts: empty list of parts")
    return parts


@contextlib.contextmanager
def open_parts(parts: Sequence[Path]) -> Iterator[io.BufferedReader]:
    """One buffered, seekable stream over the parts (a plain file when there is one part)."""
    raw = MultipartReader(parts)
    stream = io.BufferedReader(raw, buffer_size=_CHUNK)
    try:
        yield stream
    finally:
        stream.close()


# ---------------------------------------------------------------------------------------------
# Format detection


def archive_kind(stream: IO[bytes]) -> str | None:
    """'zip', 'tar' or None, by content (magic bytes), never by file name."""
    stream.seek(0)
    head = stream.read(512)
    stream.seek(0)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return "tar"  # compressed: confirmed when tarfile opens it
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    try:
        if zipfile.is_zipfile(stream):  # a zip with a prefix (self-extractor)
            return "zip"
    finally:
        stream.seek(0)
    try:  # pre-POSIX tar without the ustar magic
        with tarfile.open(fileobj=stream, mode="r:"):
            return "tar"
    except (tarfile.TarError, OSError, EOFError):
        return None
    finally:
        stream.seek(0)


def is_archive(archive: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> bool:
    """Whether the file (or multipart set) is a zip or tar archive, judged by content."""
    with open_parts(_as_parts(archive)) as stream:
        return archive_kind(stream) is not None


# ---------------------------------------------------------------------------------------------
# Member names


def _member_path(name: str) -> tuple[str | None, str | None]:
    """(safe relative path, None) or (None, reason)."""
    if "\x00" in name:
        return None, "NUL byte in name"
    n = name.replace("\\", "/")
    if n.startswith("/") or re.match(r"^[A-Za-z]:", n):
        return None, "absolute path"
    parts = [p for p in n.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None, "path traversal (..)"
    if not parts:
        return None, "empty name"
    if parts == [MARKER]:
        return None, "reserved name"
    return "/".join(parts), None


def safe_relative_path(name: str) -> str:
    """`name` as a relative path that cannot leave its folder; ArchiveError if it would."""
    rel, reason = _member_path(name)
    if rel is None:
        raise ArchiveError(f"{name!r}: {reason}")
    return rel


# ---------------------------------------------------------------------------------------------
# Members: one shape for zip and tar entries


@dataclass
class _Member:
    name: str
    kind: str  # file | dir | symlink | hardlink | special | refused
    size: int | None = None  # declared unpacked size
    packed: int | None = None  # compressed size (zip)
    link: str | None = None
    opener: Callable[[], IO[bytes]] | None = None
    reason: str | None = None  # kind == refused


class _Refuse(Exception):
    pass


def _zip_members(stream: IO[bytes], report: ExtractReport) -> Iterator[_Member]:
    try:
        zf = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, struct.error, NotImplementedError) as exc:
        report.repaired.append(
            f"central directory unusable ({exc}); members recovered from local headers"
        )
        report.refused.append(
            (
                ARCHIVE_MEMBER,
                f"no usable central directory ({exc}): archive truncated or a part missing?",
            )
        )
        yield from _recover_zip(stream, report)
        return
    with zf:
        locator = _HeaderLocator(stream, report)
        located = {id(info): locator.locate(info) for info in zf.infolist()}
        overlapping = _overlapping(stream, zf.infolist(), located)
        for info in zf.infolist():
            if info.flag_bits & 0x1:
                yield _Member(info.filename, "refused", reason="encrypted member")
                continue
            offset = located[id(info)]
            if offset is None:
                yield _Member(
                    info.filename, "refused", reason="local header not found (damaged archive)"
                )
                continue
            if id(info) in overlapping:
                yield _Member(
                    info.filename, "refused", reason="overlaps another member (zip bomb pattern)"
                )
                continue
            info.header_offset = offset
            mode = info.external_attr >> 16
            if info.is_dir():
                yield _Member(info.filename, "dir")
            elif info.create_system == 3 and stat.S_ISLNK(mode):
                try:
                    if info.file_size > _MAX_LINK_TARGET:
                        raise _Refuse("symlink target too long")
                    target = zf.read(info).decode("utf-8")
                except (_Refuse, zipfile.BadZipFile, UnicodeDecodeError, OSError) as exc:
                    yield _Member(info.filename, "refused", reason=f"unreadable symlink: {exc}")
                    continue
                yield _Member(info.filename, "symlink", link=target)
            elif info.create_system == 3 and stat.S_IFMT(mode) in _SPECIAL_TYPES:
                yield _Member(info.filename, "special")
            else:
                yield _Member(
                    info.filename,
                    "file",
                    size=info.file_size,
                    packed=info.compress_size,
                    opener=lambda info=info: zf.open(info),
                )


def _overlapping(
    stream: IO[bytes], infos: list[zipfile.ZipInfo], located: dict[int, int | None]
) -> set[int]:
    """ids of members whose local header lies inside an earlier member's data.

    Members sharing data (Fifield's overlapping-entry bomb) unpack the same bytes many times.
    """
    spans = []
    for info in infos:
        offset = located[id(info)]
        if offset is None:
            continue
        stream.seek(offset + 26)
        name_len, extra_len = struct.unpack("<HH", stream.read(4))
        spans.append((offset, offset + 30 + name_len + extra_len + info.compress_size, id(info)))
    spans.sort()
    out: set[int] = set()
    end = -1
    for start, stop, key in spans:
        if start < end:
            out.add(key)
        else:
            end = max(end, stop)
    return out


class _HeaderLocator:
    """Finds each member's local header when central-directory offsets are off."""

    def __init__(self, stream: IO[bytes], report: ExtractReport):
        self._stream = stream
        self._report = report
        self._shift: int | None = None
        self._index: dict[str, list[int]] | None = None

    def _matches(self, offset: int, info: zipfile.ZipInfo) -> bool:
        if offset < 0:
            return False
        self._stream.seek(offset)
        head = self._stream.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            return False
        name_len = struct.unpack("<H", head[26:28])[0]
        return self._stream.read(name_len) == info.orig_filename.encode(
            "utf-8" if info.flag_bits & 0x800 else "cp437", errors="replace"
        )

    def locate(self, info: zipfile.ZipInfo) -> int | None:
        stated = info.header_offset
        if self._matches(stated, info):
            return stated
        if self._shift is not None and self._matches(stated + self._shift, info):
            return stated + self._shift
        if self._index is None:
            self._index = _scan_local_headers(self._stream)
            self._report.repaired.append("local-header offsets wrong; headers located by scanning")
        for offset in self._index.get(info.orig_filename, []):
            if self._matches(offset, info):
                self._shift = offset - stated
                return offset
        return None


def _scan_local_headers(stream: IO[bytes]) -> dict[str, list[int]]:
    """Name → offsets of every plausible local file header in the stream."""
    index: dict[str, list[int]] = {}
    for offset in _find_all(stream, b"PK\x03\x04"):
        parsed = _parse_local_header(stream, offset)
        if parsed is not None:
            index.setdefault(parsed["name"], []).append(offset)
    return index


def _find_all(stream: IO[bytes], needle: bytes, start: int = 0) -> Iterator[int]:
    pos = start
    carry = b""
    while True:
        stream.seek(pos)
        chunk = stream.read(_CHUNK)
        if not chunk:
            return
        data = carry + chunk
        base = pos - len(carry)
        i = data.find(needle)
        while i != -1:
            yield base + i
            i = data.find(needle, i + 1)
        carry = data[-(len(needle) - 1) :]
        pos += len(chunk)


def _parse_local_header(stream: IO[bytes], offset: int) -> dict[str, Any] | None:
    stream.seek(offset)
    head = stream.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return None
    (_, version, flags, method, _, _, crc, packed, size, name_len, extra_len) = struct.unpack(
        "<4sHHHHHIIIHH", head
    )
    if version > 63 or method not in (0, 8, 9, 12, 14, 93, 95, 98) or name_len == 0:
        return None
    raw_name = stream.read(name_len)
    extra = stream.read(extra_len)
    if len(raw_name) < name_len or len(extra) < extra_len:
        return None
    try:
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
    except UnicodeDecodeError:
        return None
    # zip64 sizes live in extra field 0x0001 when the header says 0xFFFFFFFF
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[pos : pos + 4])
        if tag == 1 and length >= 16 and (size == 0xFFFFFFFF or packed == 0xFFFFFFFF):
            size, packed = struct.unpack("<QQ", extra[pos + 4 : pos + 20])
        pos += 4 + length
    return {
        "name": name,
        "flags": flags,
        "method": method,
        "crc": crc,
        "packed": packed,
        "size": size,
        "data": offset + 30 + name_len + extra_len,
    }


def _recover_zip(stream: IO[bytes], report: ExtractReport) -> Iterator[_Member]:
    """Walk local headers front to back; used when the central directory is unusable."""
    end = stream.seek(0, io.SEEK_END)
    pos = 0
    while pos < end:
        offset = next(_find_all(stream, b"PK\x03\x04", pos), None)
        if offset is None:
            return
        h = _parse_local_header(stream, offset)
        if h is None:
            pos = offset + 4
            continue
        name = h["name"]
        if h["flags"] & 0x1:
            yield _Member(name, "refused", reason="encrypted member")
            pos = h["data"]
            continue
        if name.endswith("/"):
            yield _Member(name, "dir")
            pos = h["data"] + (h["packed"] if not h["flags"] & 0x8 else 0)
            continue
        has_descriptor = bool(h["flags"] & 0x8) and h["packed"] == 0
        if h["method"] not in (0, 8, 12):
            yield _Member(
                name, "refused", reason=f"compression method {h['method']} not recoverable"
            )
            pos = h["data"] + (0 if has_descriptor else h["packed"])
            continue
        if has_descriptor and h["method"] == 0:
            yield _Member(
                name, "refused", reason="stored member with data descriptor: size unknown"
            )
            pos = h["data"]
            continue
        data = _RecoveredData(stream, h, end)
        yield _Member(
            name,
            "file",
            size=None if has_descriptor else h["size"],
            packed=None if has_descriptor else h["packed"],
            opener=lambda data=data: data,
        )
        # The consumer has read the member (or refused it unread); continue after its data.
        if data.consumed is None:
            # Unread: a stated size tells where it ends; with a descriptor, search onwards.
            pos = h["data"] if has_descriptor else h["data"] + h["packed"]
        else:
            pos = h["data"] + data.consumed
            if has_descriptor:
                pos += _descriptor_len(stream, pos)


def _descriptor_len(stream: IO[bytes], offset: int) -> int:
    stream.seek(offset)
    sig = stream.read(4)
    return 16 if sig == b"PK\x07\x08" else 12


class _RecoveredData(io.RawIOBase):
    """Decompresses one member found by a local-header walk; checks its CRC at the end."""

    def __init__(self, stream: IO[bytes], header: dict[str, Any], end: int):
        super().__init__()
        self._stream = stream
        self._h = header
        self._pos = header["data"]
        self._descriptor = bool(header["flags"] & 0x8) and header["packed"] == 0
        self._limit = end if self._descriptor else header["data"] + header["packed"]
        method = header["method"]
        self._decomp: Any = (
            None
            if method == 0
            else zlib.decompressobj(-15)
            if method == 8
            else bz2.BZ2Decompressor()
        )
        self._crc = 0
        self._pending = b""
        self._eof = False
        self._error: Exception | None = None
        self.consumed: int | None = None  # packed bytes, once the end of the member was reached

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending and not self._eof:
            self._fill()
        if not self._pending and self._error is not None:
            raise self._error
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _fill(self) -> None:
        self._stream.seek(self._pos)
        raw = self._stream.read(min(_CHUNK, self._limit - self._pos))
        if not raw:
            if self._decomp is not None:
                raise zipfile.BadZipFile("member data truncated")
            self._finish()
            return
        if self._decomp is None:
            out = raw
            self._pos += len(raw)
            done = self._pos >= self._limit
        else:
            out = self._decomp.decompress(raw)
            self._pos += len(raw) - len(self._decomp.unused_data)
            done = self._decomp.eof
        self._crc = zlib.crc32(out, self._crc)
        self._pending = out
        if done:
            self._finish()

    def _finish(self) -> None:
        self._eof = True
        self.consumed = self._pos - self._h["data"]
        expected = self._h["crc"]
        if self._descriptor:
            self._stream.seek(self._pos)
            desc = self._stream.read(8)
            expected = struct.unpack("<I", desc[4:8] if desc[:4] == b"PK\x07\x08" else desc[:4])[0]
        if self._crc != expected:
            self._error = zipfile.BadZipFile("CRC mismatch in recovered member")


def _tar_members(stream: IO[bytes], report: ExtractReport) -> Iterator[_Member]:
    try:
        tar = tarfile.open(fileobj=stream, mode="r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"not a readable tar archive: {exc}") from exc
    with tar:
        iterator = iter(tar)
        while True:
            try:
                ti = next(iterator)
            except StopIteration:
                return
            except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                report.refused.append((ARCHIVE_MEMBER, f"archive truncated or corrupt: {exc}"))
                return
            if ti.isdir():
                yield _Member(ti.name, "dir")
            elif ti.issym():
                yield _Member(ti.name, "symlink", link=ti.linkname)
            elif ti.islnk():
                yield _Member(ti.name, "hardlink", link=ti.linkname)
            elif ti.isfile():
                yield _Member(
                    ti.name, "file", size=ti.size, opener=lambda ti=ti: tar.extractfile(ti)
                )
            else:
                yield _Member(ti.name, "special")


# ---------------------------------------------------------------------------------------------
# Extraction


class _Extractor:
    """Writes members into `root` (a fresh directory), enforcing the limits."""

    def __init__(
        self, root: Path, limits: ArchiveLimits, archive_bytes: int, report: ExtractReport
    ):
        self.root = root
        self.limits = limits
        self.archive_bytes = max(archive_bytes, 1)
        self.report = report
        self.members = 0
        self.total = 0
        self.files: set[str] = set()
        self.links: list[tuple[str, str, str]] = []  # (member name, rel path, target)
        self.taken: set[str] = set()  # every path created or reserved (files, dirs, links)
        self.dirs: set[str] = set()

    def refuse(self, name: str, reason: str) -> None:
        self.report.refused.append((name, reason))

    def add(self, m: _Member) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            return self.refuse(m.name, f"too many members (limit {self.limits.max_members})")
        if m.kind == "refused":
            return self.refuse(m.name, m.reason or "refused")
        rel, reason = _member_path(m.name)
        if rel is None:
            return self.refuse(m.name, reason or "bad name")
        try:
            if m.kind == "dir":
                self._mkdir(rel)
            elif m.kind == "file":
                self._write_file(m, rel)
            elif m.kind == "symlink":
                self._claim(rel)
                self.links.append((m.name, rel, m.link or ""))
            elif m.kind == "hardlink":
                self._hardlink(m, rel)
            else:
                raise _Refuse("special file (device, fifo) not allowed")
        except _Refuse as exc:
            self.refuse(m.name, str(exc))

    def _claim(self, rel: str) -> None:
        if rel in self.taken:
            raise _Refuse("duplicate member name")
        for i in range(1, rel.count("/") + 1):
            parent = rel.rsplit("/", i)[0]
            if parent in self.taken and parent not in self.dirs:
                raise _Refuse(f"parent {parent!r} is a file or link")
        self.taken.add(rel)

    def _mkdir(self, rel: str) -> None:
        if rel in self.dirs:
            return
        if rel in self.taken:
            raise _Refuse("directory clashes with a file or link of the same name")
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if prefix in self.dirs:
                continue
            if prefix in self.taken:
                raise _Refuse(f"parent {prefix!r} is a file or link")
            (self.root / prefix).mkdir(exist_ok=True)
            self.dirs.add(prefix)
            self.taken.add(prefix)

    def _make_parent(self, rel: str) -> Path:
        if "/" in rel:
            self._mkdir(rel.rsplit("/", 1)[0])
        return self.root / rel

    def _check_sizes(self, m: _Member) -> None:
        lim = self.limits
        if m.size is not None:
            if m.size > lim.max_member_bytes:
                raise _Refuse(
                    f"member is {m.size:,} bytes, over the per-member limit {lim.max_member_bytes:,}"
                )
            if self.total + m.size > lim.max_total_bytes:
                raise _Refuse(f"total unpacked size would exceed {lim.max_total_bytes:,} bytes")
            if (
                m.packed is not None
                and m.size > lim.ratio_min_bytes
                and m.size > lim.max_ratio * max(m.packed, 1)
            ):
                ratio = m.size / max(m.packed, 1)
                raise _Refuse(
                    f"compression ratio {ratio:.0f}:1 over the limit {lim.max_ratio:.0f}:1 (zip bomb guard)"
                )
            self._check_archive_ratio(self.total + m.size)

    def _check_archive_ratio(self, total: int) -> None:
        lim = self.limits
        if total > lim.archive_ratio_min_bytes and total > lim.max_ratio * self.archive_bytes:
            raise _Refuse(
                f"archive would unpack to more than {lim.max_ratio:.0f}× its {self.archive_bytes:,} bytes (bomb guard)"
            )

    def _write_file(self, m: _Member, rel: str) -> None:
        self._check_sizes(m)
        self._claim(rel)
        path = self._make_parent(rel)
        lim = self.limits
        written = 0
        ok = False
        try:
            assert m.opener is not None
            fd = os.open(
                path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644
            )
            with os.fdopen(fd, "wb") as out, contextlib.closing(m.opener()) as src:
                while chunk := src.read(_CHUNK):
                    written += len(chunk)
                    # Declared sizes can lie (recovered members have none): count real bytes.
                    if m.size is not None and written > m.size:
                        raise _Refuse("member larger than its declared size")
                    if written > lim.max_member_bytes:
                        raise _Refuse(
                            f"member over the per-member limit {lim.max_member_bytes:,} bytes"
                        )
                    if self.total + written > lim.max_total_bytes:
                        raise _Refuse(
                            f"total unpacked size would exceed {lim.max_total_bytes:,} bytes"
                        )
                    self._check_archive_ratio(self.total + written)
                    out.write(chunk)
            ok = True
        except _Refuse:
            raise
        except (NotImplementedError, RuntimeError) as exc:  # zipfile: unknown method, encryption
            raise _Refuse(f"unsupported member: {exc}") from exc
        except (
            zipfile.BadZipFile,
            tarfile.TarError,
            OSError,
            EOFError,
            zlib.error,
            ValueError,
        ) as exc:
            raise _Refuse(f"corrupt member: {exc}") from exc
        finally:
            if not ok:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                self.taken.discard(rel)
        self.total += written
        self.files.add(rel)
        self.report.extracted.append(rel)

    def _hardlink(self, m: _Member, rel: str) -> None:
        target, reason = _member_path(m.link or "")
        if target is None:
            raise _Refuse(f"hard link target {m.link!r}: {reason}")
        if target not in self.files:
            raise _Refuse(
                f"hard link to {m.link!r}, which is not a file extracted from this archive"
            )
        size = (self.root / target).stat().st_size
        if self.total + size > self.limits.max_total_bytes:
            raise _Refuse(f"total unpacked size would exceed {self.limits.max_total_bytes:,} bytes")
        self._claim(rel)
        path = self._make_parent(rel)
        try:
            os.link(self.root / target, path)
        except OSError:
            shutil.copyfile(self.root / target, path)
        self.total += size
        self.files.add(rel)
        self.report.extracted.append(rel)

    def _inside(self, path: str) -> bool:
        real_root = os.path.realpath(self.root)
        return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root

    def finish_links(self) -> None:
        """Create symlinks last, keep only those that resolve to an existing path inside."""
        made: list[tuple[str, str]] = []
        for name, rel, target in self.links:
            if (
                not target
                or target.startswith("/")
                or re.match(r"^[A-Za-z]:", target)
                or "\x00" in target
            ):
                self.refuse(name, f"symlink to absolute or empty target {target!r}")
                self.taken.discard(rel)
                continue
            try:
                path = self._make_parent(rel)
            except _Refuse as exc:
                self.refuse(name, str(exc))
                continue
            if not self._inside(os.path.join(os.path.dirname(path), target)):
                self.refuse(name, f"symlink target {target!r} leaves the extraction directory")
                continue
            try:
                os.symlink(target, path)
            except OSError as exc:
                self.refuse(name, f"cannot create symlink: {exc}")
                continue
            made.append((name, rel))
        # A later link can redirect an earlier one: re-check until nothing changes.
        changed = True
        while changed:
            changed = False
            for name, rel in list(made):
                path = self.root / rel
                if not (self._inside(str(path)) and os.path.exists(path)):
                    path.unlink()
                    made.remove((name, rel))
                    self.refuse(name, "symlink target missing or outside the extraction directory")
                    changed = True
        self.report.extracted.extend(rel for _, rel in made)


def _source_identity(parts: Sequence[Path]) -> list[list[Any]]:
    out = []
    for p in parts:
        st = p.stat()
        out.append([p.name, st.st_size, st.st_mtime_ns])
    return out


def read_extract_record(dest_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The completion record of a finished extraction in `dest_dir`, or None."""
    try:
        return json.loads((Path(dest_dir) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _report_from(record: dict[str, Any]) -> ExtractReport:
    return ExtractReport(
        extracted=list(record["extracted"]),
        refused=[(a, b) for a, b in record["refused"]],
        repaired=list(record.get("repaired", [])),
    )


def _remove_stale_temporaries(dest: Path) -> None:
    pattern = re.compile(rf"^\.{re.escape(dest.name)}\.(?:partial|old)-(\d+)-[0-9a-f]+$")
    if not dest.parent.is_dir():
        return
    for sibling in dest.parent.iterdir():
        m = pattern.match(sibling.name)
        if m and int(m[1]) != os.getpid() and not pid_alive(int(m[1])):
            shutil.rmtree(sibling, ignore_errors=True)


def temporary_sibling(dest: Path, kind: str) -> Path:
    return dest.parent / f".{dest.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def publish_directory(tmp: Path, dest: Path, marker: str, record: dict[str, Any]) -> None:
    """Write `record` as `tmp/marker` (last), then move `tmp` to `dest`, replacing a stale one."""
    marker_path = tmp / marker
    with open(marker_path, "w") as f:
        json.dump(record, f)
        f.flush()
        os.fsync(f.fileno())
    fsync_directory(tmp)
    old = None
    if dest.exists() or dest.is_symlink():
        old = temporary_sibling(dest, "old")
        os.rename(dest, old)
    os.rename(tmp, dest)
    fsync_directory(dest.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def extract_archive(
    archive_path_or_parts: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    dest_dir: str | os.PathLike[str],
    *,
    limits: ArchiveLimits = ArchiveLimits(),  # noqa: B008 - frozen, immutable default
) -> ExtractReport:
    """Extract a zip or tar archive (or the parts of a multipart zip) safely into `dest_dir`.

    Parameters
    ----------
    archive_path_or_parts : path, or list of paths
        One archive file; a first part `x.zip.001` (its siblings are found); or the parts in
        order. The format is judged by content, not by name.
    dest_dir : path
        Created by an atomic rename once extraction is complete; it must not exist unless it
        holds an earlier extraction by this function (which is reused or replaced).
    limits : ArchiveLimits
        Refusal thresholds (member count, sizes, compression ratio).

    Returns
    -------
    ExtractReport: files extracted, members refused with reasons, repairs performed.

    Raises
    ------
    ArchiveError if the input is not a readable archive or parts are missing;
    FileExistsError if `dest_dir` exists and is not a previous extraction.
    """
    if not isinstance(limits, ArchiveLimits):
        raise ValueError(f"limits: expected ArchiveLimits, got {type(limits).__name__}")
    parts = _as_parts(archive_path_or_parts)
    for p in parts:
        if not p.is_file():
            raise FileNotFoundError(p)
    dest = Path(dest_dir).absolute()
    identity = {"source": _source_identity(parts), "limits": dataclasses.asdict(limits)}
    record = read_extract_record(dest)
    if record is not None and {k: record.get(k) for k in identity} == identity:
        return _report_from(record)
    if dest.exists() and record is None and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not a completed extraction; remove it first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(dest)

    report = ExtractReport()
    tmp = temporary_sibling(dest, "partial")
    tmp.mkdir()
    try:
        with open_parts(parts) as stream:
            kind = archive_kind(stream)
            size = stream.raw.size  # type: ignore[attr-defined]
            if kind is None:
                names = ", ".join(p.name for p in parts)
                raise ArchiveError(f"{names}: not a zip or tar archive")
            extractor = _Extractor(tmp, limits, size, report)
            members = (
                _zip_members(stream, report) if kind == "zip" else _tar_members(stream, report)
            )
            for member in members:
                extractor.add(member)
            extractor.finish_links()
        # Another process may have finished the same extraction meanwhile: keep theirs.
        record = read_extract_record(dest)
        if record is not None and {k: record.get(k) for k in identity} == identity:
            shutil.rmtree(tmp, ignore_errors=True)
            return _report_from(record)
        publish_directory(
            tmp,
            dest,
            MARKER,
            {
                "version": _RECORD_VERSION,
                **identity,
                "extracted": report.extracted,
                "refused": report.refused,
                "repaired": report.repaired,
            },
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report
