"""Real servers and workers on 127.0.0.1: a Prefect server, its CLI, and process bookkeeping.

Every process is started with `Popen(start_new_session=True)` (a worker started with `&` from a
script ignores SIGTERM) and stopped by PID at the end (SIGTERM to its group and descendants,
SIGKILL after a grace period), even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's scripts: prefect, dask
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
RETRY_STATUS = {429, 502, 503}

# Small enough for seconds per stage on 2 CPU cores (as tests/flows/conftest.py's TINY).
TINY_INGEST = {
    "synthetic_train": 3,
    "synthetic_val": 2,
    "synthetic_test": 1,
    "synthetic_height": 64,
    "synthetic_width": 96,
}
TINY_SKELETON = {"rounds": 32}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """This environment without any Prefect or Dask settings of the caller, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DASK_"))}
    env.update(DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Processes:
    """The processes the fixtures started, with their logs; `stop` / `stop_all` end them by PID."""

    logs: Path
    started: list[tuple[subprocess.Popen, Path]] = field(default_factory=list)

    def start(
        self, name: str, args: list[str], *, env: dict[str, str], cwd: Path = ROOT
    ) -> subprocess.Popen:
        log = self.logs / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                args,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started.append((proc, log))
        return proc

    def log_of(self, proc: subprocess.Popen) -> Path:
        return next(log for p, log in self.started if p is proc)

    def stop(self, proc: subprocess.Popen, *, timeout: float = 20) -> None:
        """SIGTERM its process group and each descendant by PID; SIGKILL what is left.

        The group id stays ours while any member lives, so signalling it is safe even after
        the leader exited; a reaped leader's own PID is not looked up again.
        """
        children: list[psutil.Process] = []
        if proc.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                children = psutil.Process(proc.pid).children(recursive=True)
        _signal_group(proc.pid, signal.SIGTERM)
        for child in children:  # flow runs may sit in process groups of their own
            with contextlib.suppress(psutil.NoSuchProcess):
                child.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        _signal_group(proc.pid, signal.SIGKILL)  # members that outlived their leader
        _, alive = psutil.wait_procs(children, timeout=5)
        for child in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()

    def stop_all(self) -> None:
        for proc, _ in reversed(self.started):
            self.stop(proc)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def wait_until(
    check: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    proc: subprocess.Popen | None = None,
    log: Path | None = None,
    every: float = 0.5,
) -> Any:
    """Poll `check()` until it returns something truthy; fail with the log when `proc` dies."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(
                f"{what}: the process exited with {proc.returncode}\n{log_tail(log) if log else ''}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout:.0f} s\n{log_tail(log) if log else ''}")
        time.sleep(every)


@pytest.fixture(scope="session")
def processes(tmp_path_factory) -> Iterator[Processes]:
    procs = Processes(tmp_path_factory.mktemp("logs"))
    try:
        yield procs
    finally:
        procs.stop_all()


@dataclass
class PrefectServer:
    api_url: str
    env: dict[str, str]  # for every child process: PREFECT_HOME, PREFECT_API_URL, fast polling
    client: httpx.Client
    processes: Processes

    def cli(self, *args: str, timeout: float = 120) -> str:
        """Run `prefect ARGS` against this server from the project root; its output."""
        done = subprocess.run(
            [str(BIN / "prefect"), "--no-prompt", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            pytest.fail(
                f"prefect {' '.join(args)} exited with {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done.stdout

    def api(self, method: str, path: str, json: Any = None) -> Any:
        """One REST call; retried while the server is busy (SQLite locked → 503, or slow).

        Prefect's own client retries these the same way.
        """
        for attempt in range(6):
            try:
                response = self.client.request(method, path, json=json)
            except httpx.TimeoutException:
                if attempt == 5:
                    raise
                continue
            if response.status_code not in RETRY_STATUS or attempt == 5:
                break
            time.sleep(0.5 * 2**attempt)
        response.raise_for_status()
        return response.json() if response.content else None

    def deployment(self, name: str) -> dict:
        return self.api("GET", f"/deployments/name/{name}")

    def flow_run(self, run_id: str) -> dict:
        return self.api("GET", f"/flow_runs/{run_id}")

    def child_runs(self, run_id: str) -> list[dict]:
        """The subflow runs of a run (one per stage)."""
        body = {"flow_runs": {"parent_flow_run_id": {"any_": [run_id]}}}
        return self.api("POST", "/flow_runs/filter", body)

    def create_run(self, deployment: str, parameters: dict) -> str:
        dep = self.deployment(deployment)
        body = {"parameters": parameters}
        return self.api("POST", f"/deployments/{dep['id']}/create_flow_run", body)["id"]

    def wait_for_run(
        self, run_id: str, *, timeout: float, runner: subprocess.Popen | None = None
    ) -> dict:
        """The flow run once it reached a final state (Completed, Failed, Crashed, Cancelled)."""
        log = self.processes.log_of(runner) if runner is not None else None
        return wait_until(
            lambda: (run := self.flow_run(run_id))["state"]["type"] in FINAL_STATES and run,
            timeout=timeout,
            what=f"flow run {run_id}",
            proc=runner,
            log=log,
        )

    def flow_runs(self, deployment_id: str, *, state_type: str) -> list[dict]:
        body = {
            "flow_runs": {
                "deployment_id": {"any_": [deployment_id]},
                "state": {"type": {"any_": [state_type]}},
            },
            "sort": "EXPECTED_START_TIME_ASC",
        }
        return self.api("POST", "/flow_runs/filter", body)


@contextlib.contextmanager
def started_prefect_server(
    processes, home: Path, *, ui: bool = False, timeout: float = 180, **settings: str
) -> Iterator[PrefectServer]:
    """`prefect server start` on a free loopback port with `home` as PREFECT_HOME (SQLite) and
    `settings` in its environment; healthy when yielded, stopped by PID afterwards."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = child_env(PREFECT_HOME=str(home), PREFECT_API_URL=api_url, **settings)
    server = processes.start(
        "prefect-server",
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
         *([] if ui else ["--no-ui"])],
        env=env,
    )  # fmt: skip
    client = httpx.Client(base_url=api_url, timeout=60)

    def healthy() -> bool:
        try:
            return client.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(
            healthy, timeout=timeout, what="prefect server /api/health", proc=server,
            log=processes.log_of(server),
        )  # fmt: skip
        yield PrefectServer(api_url, env, client, processes)
    finally:
        client.close()
        processes.stop(server)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory, processes) -> Iterator[PrefectServer]:
    """`prefect server start` on a free loopback port with a temporary PREFECT_HOME (SQLite)."""
    with started_prefect_server(
        processes,
        tmp_path_factory.mktemp("prefect-home"),
        PREFECT_LOGGING_EXTRA_LOGGERS="regionflow",
        # Tests wait on these loops; the defaults (10-60 s) are for humans.
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_RUNNER_POLL_FREQUENCY="1",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def prefect_api(prefect_server) -> Iterator[PrefectServer]:
    """Flows called in this process report to `prefect_server` for the module's duration."""
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_server.api_url}):
        try:
            yield prefect_server
        finally:
            APILogWorker.drain_all(timeout=5)  # send run logs while the server still listens
