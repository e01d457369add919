"""Safe archive extraction: formats, multipart zips, malicious members, limits, repair, atomicity."""

from __future__ import annotations

import io
import os
import random
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from regionflow.storage.archives import (
    ARCHIVE_MEMBER,
    MARKER,
    ArchiveError,
    ArchiveLimits,
    MultipartReader,
    extract_archive,
    find_parts,
    is_archive,
    safe_relative_path,
)

GOOD = {
    "DanbooRegion2020/train/0.image.png": b"\x89PNG fake image",
    "DanbooRegion2020/readme.txt": b"hi",
}


def tree(root: Path) -> dict[str, bytes]:
    """Every regular file under root (marker excluded), relative path → bytes."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.name != MARKER:
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def write_zip(path: Path, files: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def zip_symlink(zf: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (0o120777) << 16
    zf.writestr(info, target)


def tar_add(tf: tarfile.TarFile, name: str, data: bytes = b"", **attrs) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    tf.addfile(info, io.BytesIO(data) if data else None)


def split_bytes(data: bytes, path_base: Path, n: int) -> list[Path]:
    step = -(-len(data) // n)
    parts = []
    for i in range(n):
        part = path_base.with_name(f"{path_base.name}.{i + 1:03d}")
        part.write_bytes(data[i * step : (i + 1) * step])
        parts.append(part)
    return parts


def refused_reason(report, name: str) -> str:
    reasons = [r for m, r in report.refused if m == name]
    assert reasons, f"{name!r} not refused: {report.refused}"
    return reasons[0]


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["zip", "zip-stored", "tar", "tar.gz", "tgz", "tar.bz2", "tar.xz"])
def test_formats_extract_all_members(tmp_path, fmt):
    archive = tmp_path / f"data.{fmt}"
    if fmt.startswith("zip"):
        stored = fmt == "zip-stored"
        write_zip(archive, GOOD, compression=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    else:
        mode = {"tar": "w", "tar.gz": "w:gz", "tgz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}[
            fmt
        ]
        with tarfile.open(archive, mode) as tf:
            for name, data in GOOD.items():
                tar_add(tf, name, data)
    report = extract_archive(archive, tmp_path / "out")
    assert tree(tmp_path / "out") == GOOD
    assert sorted(report.extracted) == sorted(GOOD)
    assert report.refused == [] and report.intact
    assert (tmp_path / "out" / MARKER).is_file()


def test_format_is_judged_by_content_not_name(tmp_path):
    archive = write_zip(tmp_path / "looks-like.tar.gz", GOOD)
    assert is_archive(archive)
    extract_archive(archive, tmp_path / "out")
    assert tree(tmp_path / "out") == GOOD
    text = tmp_path / "notes.zip"
    text.write_text("not an archive at all\n" * 40)
    assert not is_archive(text)
    with pytest.raises(ArchiveError, match="not a zip or tar"):
        extract_archive(text, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


# --- multipart -------------------------------------------------------------------------------


def test_multipart_zip_from_first_part_and_from_list(tmp_path):
    files = {f"DanbooRegion2020/train/{i}.image.png": os.urandom(5000) for i in range(6)}
    whole = write_zip(tmp_path / "whole.zip", files).read_bytes()
    parts = split_bytes(whole, tmp_path / "DanbooRegion2020.zip", 3)
    assert find_parts(parts[0]) == parts
    assert find_parts(parts[1]) == parts  # any part names the set
    report = extract_archive(parts[0], tmp_path / "a")
    assert tree(tmp_path / "a") == files and report.refused == []
    extract_archive(parts, tmp_path / "b")
    assert tree(tmp_path / "b") == files


def test_multipart_missing_part_is_named(tmp_path):
    parts = split_bytes(write_zip(tmp_path / "w.zip", GOOD).read_bytes(), tmp_path / "x.zip", 3)
    parts[1].unlink()
    with pytest.raises(ArchiveError, match=r"x\.zip\.002"):
        extract_archive(parts[0], tmp_path / "out")


def test_multipart_reader_reads_like_the_concatenation(tmp_path):
    rng = random.Random(0)
    chunks = [os.urandom(n) for n in (7, 1, 4096, 0, 333)]
    paths = []
    for i, chunk in enumerate(chunks):
        paths.append(tmp_path / f"p.{i:03d}")
        paths[-1].write_bytes(chunk)
    whole = b"".join(chunks)
    with MultipartReader(paths) as raw, io.BufferedReader(raw, 64) as reader:
        assert raw.size == len(whole)
        for _ in range(300):
            pos, n = rng.randrange(len(whole) + 5), rng.randrange(600)
            reader.seek(pos)
            assert reader.read(n) == whole[pos : pos + n]
        assert reader.seek(-10, io.SEEK_END) == len(whole) - 10
        assert reader.read() == whole[-10:]


# --- malicious members -----------------------------------------------------------------------


def test_malicious_zip_members_refused_good_ones_extracted(tmp_path):
    outside = tmp_path / "outside-abs"
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in GOOD.items():
            zf.writestr(name, data)
        zf.writestr("../evil", b"x")
        zf.writestr("a/../../evil2", b"x")
        zf.writestr(str(outside), b"x")  # an absolute path
        zf.writestr("..\\evil-win", b"x")
        zf.writestr("C:/evil-drive", b"x")
        zip_symlink(zf, "etc-link", "/etc")
        zip_symlink(zf, "up-link", "../..")
        zip_symlink(zf, "ok-link", "DanbooRegion2020/readme.txt")
    report = extract_archive(archive, tmp_path / "out")
    out = tmp_path / "out"
    assert tree(out) == GOOD
    assert refused_reason(report, "../evil") == "path traversal (..)"
    assert refused_reason(report, "a/../../evil2") == "path traversal (..)"
    assert refused_reason(report, str(outside)) == "absolute path"
    assert refused_reason(report, "..\\evil-win") == "path traversal (..)"
    assert refused_reason(report, "C:/evil-drive") == "absolute path"
    assert "absolute" in refused_reason(report, "etc-link")
    assert "leaves the extraction directory" in refused_reason(report, "up-link")
    assert os.readlink(out / "ok-link") == "DanbooRegion2020/readme.txt"
    assert "ok-link" in report.extracted
    assert not outside.exists()
    assert not (tmp_path / "evil").exists() and not (tmp_path / "evil2").exists()
    assert not (out / "etc-link").exists() and not (out / "etc-link").is_symlink()


def test_malicious_tar_members_refused_good_ones_extracted(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        for name, data in GOOD.items():
            tar_add(tf, name, data)
        tar_add(tf, "../evil", b"x")
        tar_add(tf, "/tmp/regionflow-evil-abs", b"x")
        tar_add(tf, "etc", type=tarfile.SYMTYPE, linkname="/etc")
        tar_add(tf, "etc/passwd-overwrite", b"x")  # would go through the link if it existed
        tar_add(tf, "escape", type=tarfile.SYMTYPE, linkname="DanbooRegion2020/../..")
        tar_add(tf, "hard-passwd", type=tarfile.LNKTYPE, linkname="/etc/passwd")
        tar_add(tf, "hard-up", type=tarfile.LNKTYPE, linkname="../x")
        tar_add(tf, "hard-missing", type=tarfile.LNKTYPE, linkname="not/in/archive")
        tar_add(tf, "fifo", type=tarfile.FIFOTYPE)
        tar_add(tf, "dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
        tar_add(tf, "latest", type=tarfile.SYMTYPE, linkname="DanbooRegion2020/readme.txt")
        tar_add(tf, "copy.txt", type=tarfile.LNKTYPE, linkname="DanbooRegion2020/readme.txt")
        tar_add(tf, "dangling", type=tarfile.SYMTYPE, linkname="nothing/here")
        tar_add(tf, "DanbooRegion2020/readme.txt", b"second copy")
    report = extract_archive(archive, tmp_path / "out")
    out = tmp_path / "out"
    assert refused_reason(report, "../evil") == "path traversal (..)"
    assert refused_reason(report, "/tmp/regionflow-evil-abs") == "absolute path"
    assert "absolute" in refused_reason(report, "etc")
    assert "leaves" in refused_reason(report, "escape")
    assert refused_reason(report, "hard-passwd") == "hard link target '/etc/passwd': absolute path"
    assert refused_reason(report, "hard-up") == "hard link target '../x': path traversal (..)"
    assert "not a file extracted" in refused_reason(report, "hard-missing")
    assert "special file" in refused_reason(report, "fifo")
    assert "special file" in refused_reason(report, "dev")
    assert "missing" in refused_reason(report, "dangling")
    assert refused_reason(report, "DanbooRegion2020/readme.txt") == "duplicate member name"
    assert not Path("/tmp/regionflow-evil-abs").exists()
    # nothing is written below a link member's path
    assert refused_reason(report, "etc/passwd-overwrite") == "parent 'etc' is a file or link"
    assert not (out / "etc").exists()
    assert os.readlink(out / "latest") == "DanbooRegion2020/readme.txt"
    assert (out / "copy.txt").read_bytes() == GOOD["DanbooRegion2020/readme.txt"]
    assert {"latest", "copy.txt", *GOOD} <= set(report.extracted)
    assert tree(out) == GOOD | {"copy.txt": b"hi"}


def test_link_chain_cannot_redirect_an_earlier_link(tmp_path):
    # `a` points through `d/e/p`, harmless while p does not exist; `d/e/p -> ../..` would make
    # `a` climb out. Every link is re-checked once all exist.
    archive = tmp_path / "chain.tar"
    with tarfile.open(archive, "w") as tf:
        tar_add(tf, "d/e/keep.txt", b"k")
        tar_add(tf, "a", type=tarfile.SYMTYPE, linkname="d/e/p/../../..")
        tar_add(tf, "d/e/p", type=tarfile.SYMTYPE, linkname="../..")
    report = extract_archive(archive, tmp_path / "out")
    out = tmp_path / "out"
    for path in out.rglob("*"):
        if path.is_symlink():
            real = Path(os.path.realpath(path))
            assert real == out.resolve() or out.resolve() in real.parents
    assert any(name == "a" for name, _ in report.refused)


def test_member_name_helper():
    assert safe_relative_path("./a//b/./c.png") == "a/b/c.png"
    for bad in ["../x", "/x", "a/../../x", "", ".", "C:\\x", "a\x00b"]:
        with pytest.raises(ArchiveError):
            safe_relative_path(bad)


# --- limits ----------------------------------------------------------------------------------


def test_too_many_members(tmp_path):
    archive = write_zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(5)})
    report = extract_archive(archive, tmp_path / "out", limits=ArchiveLimits(max_members=3))
    assert report.extracted == ["f0.txt", "f1.txt", "f2.txt"]
    assert report.refused == [(f"f{i}.txt", "too many members (limit 3)") for i in (3, 4)]


def test_oversize_member_and_total(tmp_path):
    files = {"big.bin": os.urandom(2000), "a.bin": os.urandom(600), "b.bin": os.urandom(600)}
    files["c.bin"] = os.urandom(600)
    archive = write_zip(tmp_path / "big.zip", files)
    limits = ArchiveLimits(max_member_bytes=1000, max_total_bytes=1500)
    report = extract_archive(archive, tmp_path / "out", limits=limits)
    assert "per-member limit" in refused_reason(report, "big.bin")
    assert "total unpacked size" in refused_reason(report, "c.bin")
    assert tree(tmp_path / "out") == {"a.bin": files["a.bin"], "b.bin": files["b.bin"]}


def test_zip_bomb_member_ratio(tmp_path):
    archive = write_zip(tmp_path / "bomb.zip", {"zeros.bin": bytes(4 << 20), "ok.txt": b"fine"})
    limits = ArchiveLimits(max_ratio=100, ratio_min_bytes=1 << 20)
    report = extract_archive(archive, tmp_path / "out", limits=limits)
    assert "compression ratio" in refused_reason(report, "zeros.bin")
    assert tree(tmp_path / "out") == {"ok.txt": b"fine"}


def test_tar_gz_bomb_archive_ratio(tmp_path):
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tar_add(tf, "ok.txt", b"fine")
        tar_add(tf, "zeros.bin", bytes(4 << 20))
    limits = ArchiveLimits(max_ratio=100, archive_ratio_min_bytes=1 << 20)
    report = extract_archive(archive, tmp_path / "out", limits=limits)
    assert "bomb guard" in refused_reason(report, "zeros.bin")
    assert tree(tmp_path / "out") == {"ok.txt": b"fine"}


def test_limits_validate_their_arguments():
    with pytest.raises(ValueError, match="max_members"):
        ArchiveLimits(max_members=0)


# --- hand-built zips: overlap bomb, wrong offsets, no central directory ----------------------


def local_header(
    name: bytes, data: bytes, *, flags: int = 0, method: int = 0, packed=None
) -> bytes:
    crc = zlib.crc32(data)
    packed_len = len(data) if packed is None else packed
    return (
        struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            20,
            flags,
            method,
            0,
            0x21,
            crc,
            packed_len,
            len(data),
            len(name),
            0,
        )
        + name
    )


def central_entry(name: bytes, data: bytes, offset: int, packed_len: int | None = None) -> bytes:
    packed_len = len(data) if packed_len is None else packed_len
    return (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, zlib.crc32(data), packed_len, len(data),
            len(name), 0, 0, 0, 0, 0, offset,
        )
        + name
    )  # fmt: skip


def end_record(n: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, cd_size, cd_offset, 0)


def test_overlapping_members_refused(tmp_path):
    inner = local_header(b"b", b"kernel") + b"kernel"
    outer = local_header(b"a", inner) + inner
    cd = central_entry(b"a", inner, 0) + central_entry(b"b", b"kernel", 31)
    (tmp_path / "overlap.zip").write_bytes(outer + cd + end_record(2, len(cd), len(outer)))
    report = extract_archive(tmp_path / "overlap.zip", tmp_path / "out")
    assert "overlaps another member" in refused_reason(report, "b")
    assert tree(tmp_path / "out") == {"a": inner}


def test_repair_wrong_central_directory_offset(tmp_path):
    data = write_zip(tmp_path / "ok.zip", GOOD).read_bytes()
    eocd = data.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack("<I", data[eocd + 16 : eocd + 20])[0]
    broken = data[: eocd + 16] + struct.pack("<I", cd_offset + 1234) + data[eocd + 20 :]
    (tmp_path / "broken.zip").write_bytes(broken)
    with (
        zipfile.ZipFile(tmp_path / "broken.zip") as zf,
        pytest.raises((zipfile.BadZipFile, OSError)),
    ):
        zf.read(next(iter(GOOD)))  # zipfile alone cannot read it
    report = extract_archive(tmp_path / "broken.zip", tmp_path / "out")
    assert tree(tmp_path / "out") == GOOD
    assert report.refused == [] and report.repaired


def test_repair_per_entry_offsets_and_prefix(tmp_path):
    files = {f"f{i}": os.urandom(300) for i in range(4)}
    body = b""
    cd = b""
    for name, data in files.items():
        # offsets written as if each member started a new disk (spanned archives do this)
        cd += central_entry(name.encode(), data, 0)
        body += local_header(name.encode(), data) + data
    prefix = b"SFX stub " * 10
    whole = prefix + body + cd + end_record(len(files), len(cd), len(body))
    (tmp_path / "spanned.zip").write_bytes(whole)
    report = extract_archive(tmp_path / "spanned.zip", tmp_path / "out")
    assert tree(tmp_path / "out") == files
    assert report.refused == [] and report.repaired


def non_seekable_zip(files: dict[str, bytes]) -> bytes:
    """A zip written to a pipe-like stream: zipfile then uses data descriptors (flag bit 3)."""

    class Pipe(io.RawIOBase):
        def __init__(self):
            self.buf = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.buf += b
            return len(b)

    pipe = Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            with zf.open(name, "w") as f:
                f.write(data)
    return bytes(pipe.buf)


@pytest.mark.parametrize("descriptors", [False, True])
def test_recover_members_without_central_directory(tmp_path, descriptors):
    files = {f"train/{i}.region.png": os.urandom(2000) + bytes(3000) for i in range(4)}
    data = (
        non_seekable_zip(files)
        if descriptors
        else write_zip(tmp_path / "z.zip", files).read_bytes()
    )
    assert (data[6] & 0x08 != 0) == descriptors
    cd_start = data.find(b"PK\x01\x02")
    parts = split_bytes(data[:cd_start], tmp_path / "lost-last-part.zip", 2)  # the CD part is gone
    report = extract_archive(parts[0], tmp_path / "out")
    assert tree(tmp_path / "out") == files
    assert not report.intact and report.refused[0][0] == ARCHIVE_MEMBER
    assert report.repaired


def test_recovery_refuses_a_truncated_member(tmp_path):
    files = {"a.bin": os.urandom(4000), "b.bin": os.urandom(4000)}
    data = non_seekable_zip(files)
    second = data.find(b"PK\x03\x04", 4)
    cut = data[: second + 30 + len("b.bin") + 1000]
    (tmp_path / "cut.zip").write_bytes(cut)
    report = extract_archive(tmp_path / "cut.zip", tmp_path / "out")
    assert tree(tmp_path / "out") == {"a.bin": files["a.bin"]}
    assert "truncated" in refused_reason(report, "b.bin")


def test_corrupt_member_data_refused(tmp_path):
    files = {"a.bin": os.urandom(3000), "b.bin": os.urandom(3000)}
    data = bytearray(
        write_zip(tmp_path / "z.zip", files, compression=zipfile.ZIP_STORED).read_bytes()
    )
    data[100] ^= 0xFF  # inside a.bin's stored bytes: its CRC no longer matches
    (tmp_path / "bad.zip").write_bytes(bytes(data))
    report = extract_archive(tmp_path / "bad.zip", tmp_path / "out")
    assert "corrupt member" in refused_reason(report, "a.bin")
    assert tree(tmp_path / "out") == {"b.bin": files["b.bin"]}


def test_truncated_tar_gz_reported(tmp_path):
    archive = tmp_path / "t.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tar_add(tf, "a.bin", os.urandom(20000))
        tar_add(tf, "b.bin", os.urandom(20000))
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) * 3 // 4])
    report = extract_archive(archive, tmp_path / "out")
    assert not report.intact
    assert "a.bin" in report.extracted and "b.bin" not in report.extracted


# --- atomicity and idempotence ---------------------------------------------------------------


def test_failure_midway_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    from regionflow.storage import archives

    archive = write_zip(tmp_path / "a.zip", {f"f{i}": b"x" for i in range(5)})
    calls = {"n": 0}
    real = archives._Extractor._write_file

    def flaky(self, m, rel):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real(self, m, rel)

    monkeypatch.setattr(archives._Extractor, "_write_file", flaky)
    with pytest.raises(RuntimeError):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a.zip"]


def test_hard_crash_then_rerun(tmp_path):
    archive = write_zip(tmp_path / "a.zip", GOOD)
    dest = tmp_path / "out"
    # A process that dies (no cleanup at all) right before the final rename.
    code = (
        "import os, sys; from regionflow.storage import archives\n"
        "archives.publish_directory = lambda *a, **k: os._exit(9)\n"
        "archives.extract_archive(sys.argv[1], sys.argv[2])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(archive), str(dest)], timeout=60)
    assert proc.returncode == 9
    assert not dest.exists()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".out.partial-")]
    assert len(leftovers) == 1 and tree(leftovers[0]) == GOOD  # complete files, but no marker
    report = extract_archive(archive, dest)
    assert tree(dest) == GOOD and report.refused == []
    assert not leftovers[0].exists()  # the dead process's temporary was cleaned up


def test_second_call_reuses_and_changed_archive_replaces(tmp_path, monkeypatch):
    from regionflow.storage import archives

    archive = write_zip(tmp_path / "a.zip", GOOD)
    first = extract_archive(archive, tmp_path / "out")

    def boom(self, m):
        raise AssertionError("re-extracted")

    with monkeypatch.context() as mp:
        mp.setattr(archives._Extractor, "add", boom)
        again = extract_archive(archive, tmp_path / "out")
    assert again == first
    write_zip(archive, {"new.txt": b"new"})
    os.utime(archive, ns=(1, 1))  # a different identity even on coarse-mtime filesystems
    report = extract_archive(archive, tmp_path / "out")
    assert report.extracted == ["new.txt"] and tree(tmp_path / "out") == {"new.txt": b"new"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_foreign_destination_is_not_overwritten(tmp_path):
    archive = write_zip(tmp_path / "a.zip", GOOD)
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "precious.txt").write_text("keep")
    with pytest.raises(FileExistsError):
        extract_archive(archive, dest)
    assert (dest / "precious.txt").read_text() == "keep"


def test_unsupported_compression_method_refused(tmp_path):
    data = bytearray(
        write_zip(tmp_path / "z.zip", {"a.bin": b"a" * 100, "b.bin": b"b" * 100}).read_bytes()
    )
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 8 : local + 10] = struct.pack("<H", 97)  # WavPack: zipfile cannot read it
    data[central + 10 : central + 12] = struct.pack("<H", 97)
    (tmp_path / "odd.zip").write_bytes(bytes(data))
    report = extract_archive(tmp_path / "odd.zip", tmp_path / "out")
    assert refused_reason(report, "a.bin").startswith("unsupported member")
    assert tree(tmp_path / "out") == {"b.bin": b"b" * 100}
