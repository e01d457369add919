import os

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

# Small enough for seconds per stage on 2 CPU cores, big enough to exercise every path.
TINY = {
    "ingest": {
        "synthetic_train": 4,
        "synthetic_val": 2,
        "synthetic_test": 1,
        "synthetic_height": 96,
        "synthetic_width": 128,
    },
    "skeleton": {"rounds": 64},
    "train": {
        "loss": "l1",
        "steps": 4,
        "batch_size": 2,
        "crop": 64,
        "lr": 1e-4,
        "checkpoint_every": 2,
        "preview_every": 2,
        "num_workers": 0,
        "amp": False,
    },
    "extract": {"short_side": None, "compare": ["ground_truth", "slic"], "thresholds": [60, 140]},
}


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session (~15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(autouse=True)
def prefect_console_on_real_stderr():
    """Prefect's console handler keeps the stream it was created with; when that was a test's
    captured stderr, later tests log into a closed file (and flows fail). Point it at the real one."""
    import logging
    import sys

    from prefect.logging.handlers import PrefectConsoleHandler

    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.stream = sys.__stderr__  # not setStream(): it flushes the closed one
                handler.console.file = sys.__stderr__
    yield
