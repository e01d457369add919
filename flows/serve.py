"""`regionflow serve`: the three deployments, run by this process (no work pool, no worker).

Served deployments are named `<flow>/serve` (e.g. `region-export/serve`), apart from the work-pool
deployments of `prefect.yaml` (`<flow>/<flow>`): a served upsert over a work-pool deployment of the
same name keeps its work pool and loses its code location, and its runs crash. Flows are loaded
by module path (the project is installed), so the served runs do not depend on any working
directory. Needs a Prefect server (`prefect server start`). The `regionflow serve` command is
in `flows/cli/serve.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from regionflow.storage.store import Store

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

# Prefect, the flows and torch load only when serving: `regionflow --help` stays fast.

DEFAULT_REFRESH_CRON = "0 3 * * *"  # daily at 03:00 UTC
DEFAULT_NAME = "serve"
TAGS = ["regionflow"]


def deployments(
    store: str, *, refresh_cron: str = DEFAULT_REFRESH_CRON, name: str = DEFAULT_NAME
) -> list[RunnerDeployment]:
    """`pipeline/<name>`, `dataset-refresh/<name>` (on `refresh_cron`, UTC) and
    `region-export/<name>`, all on `store`.

    A local `store` is made absolute, so outputs land in the same place whatever folder the
    runs start in.
    """
    from prefect.deployments.runner import EntrypointType

    from regionflow.flows.export import region_export
    from regionflow.flows.pipeline import dataset_refresh, pipeline

    if not name or "/" in name:
        raise ValueError(f"name: expected a deployment name without '/', got {name!r}")
    url = Store(store).url
    common = {"name": name, "tags": TAGS, "entrypoint_type": EntrypointType.MODULE_PATH}
    try:
        refresh = dataset_refresh.to_deployment(
            **common,
            cron=refresh_cron,
            parameters={"store": url, "config": {}, "retrain": False},
            description="incremental ingest + skeletonize; retrain=true also trains and extracts",
        )
    except ValueError as exc:  # pydantic's ValidationError: keep its one-line reason
        errors = getattr(exc, "errors", None)
        reason = errors()[0]["msg"] if callable(errors) else str(exc)
        raise ValueError(
            f"refresh_cron: {refresh_cron!r} is not a cron schedule ({reason})"
        ) from None
    return [
        pipeline.to_deployment(
            **common,
            parameters={"store": url, "config": {}},
            description="ingest → skeletonize → train → extract on one store",
        ),
        refresh,
        region_export.to_deployment(
            **common,
            parameters={"output": url},
            description="batch region export: images + a checkpoint → regions",
        ),
    ]


def serve_all(
    store: str,
    *,
    refresh_cron: str = DEFAULT_REFRESH_CRON,
    name: str = DEFAULT_NAME,
    limit: int | None = None,
) -> None:
    """Register the three deployments and run their flow runs here until interrupted.

    `limit` caps concurrent runs (None: no cap). Blocks; Ctrl-C (SIGINT) or SIGTERM stops it
    and pauses the refresh schedule, as `prefect.serve` does.
    """
    from prefect import serve

    serve(*deployments(store, refresh_cron=refresh_cron, name=name), limit=limit)
