"""Facts about processes on this host (lock and extraction owners)."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True if a process with this id exists here (even one we may not signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
