"""Disk full and write errors: a clear error, nothing partial marked complete, the re-run finishes.

One test fills a real small filesystem (a tmpfs mount, where this machine permits it); one injects
ENOSPC into the store's writes, so the property is checked everywhere.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from regionflow.storage.records import read_records
from regionflow.storage.samples import read_array
from regionflow.storage.store import LocalStore, Store
from tests.reliability.crash_driver import run_stage
from tests.reliability.test_crash_matrix import world  # noqa: F401 - the prepared stores

pytestmark = pytest.mark.slow


def du(path: Path) -> int:
    """Bytes allocated (tmpfs counts whole pages per file), directories included."""
    return sum(max(p.stat().st_blocks * 512, 4096) for p in path.rglob("*")) + 4096


def assert_records_mean_complete(store: Path, reference: Path) -> set[str]:
    """Every sample with a skeleton record has the reference's skeleton."""
    done = set(read_records(Store(store), "skeleton"))
    for sid in done:
        np.testing.assert_array_equal(
            read_array(Store(store), sid, "skeleton"), read_array(Store(reference), sid, "skeleton")
        )
    return done


@pytest.fixture
def small_filesystem(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}); the injected-ENOSPC test covers this")

    def resize(size_bytes: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size_bytes}", str(mount)], check=True)

    try:
        yield mount, resize
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_real_disk_full_during_skeletonize(world, small_filesystem):  # noqa: F811
    mount, resize = small_filesystem
    base = world["bases"]["skeletonize"]
    reference, _ = world["references"]["skeletonize"]
    needed = du(reference) - du(base)
    resize(2 * du(base) + needed)
    store = mount / "store"
    shutil.copytree(base, store)
    used = shutil.disk_usage(mount).used
    resize(used + needed // 3)  # room for about a third of the targets

    with pytest.raises(RuntimeError) as failed:
        run_stage("skeletonize", str(store), "")
    assert "No space left on device" in str(failed.value)
    survivors = assert_records_mean_complete(store, reference)
    assert 0 < len(survivors) < 20

    resize(used + 4 * needed + 1024 * 1024)  # space is freed
    result = run_stage("skeletonize", str(store), "")
    assert set(result["computed_ids"]) == set(read_records(Store(store), "skeleton")) - survivors
    assert assert_records_mean_complete(store, reference) == set(
        read_records(Store(reference), "skeleton")
    )


def test_injected_write_errors_leave_nothing_partial(world, tmp_path, monkeypatch):  # noqa: F811
    base = world["bases"]["skeletonize"]
    reference, _ = world["references"]["skeletonize"]
    store = tmp_path / "store"
    shutil.copytree(base, store)
    calls = {"n": 0}
    original = LocalStore.write_bytes

    def flaky(self, data, *parts):
        calls["n"] += 1
        if calls["n"] % 3 == 0:  # every third record write hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, data, *parts)

    monkeypatch.setattr(LocalStore, "write_bytes", flaky)
    with pytest.raises(RuntimeError, match="No space left on device"):
        run_stage("skeletonize", str(store), "")
    monkeypatch.setattr(LocalStore, "write_bytes", original)
    survivors = assert_records_mean_complete(store, reference)
    assert not list(store.rglob("*.tmp")), "a failed write left a temporary file"
    result = run_stage("skeletonize", str(store), "")
    assert set(result["computed_ids"]) == set(read_records(Store(store), "skeleton")) - survivors
    assert_records_mean_complete(store, reference)
