"""A candidate measured against granian for ``cds-service serve``: the same ASGI front
(``cds_service.web.front``, a2wsgi, the Flask app) under uvicorn with h11, the same worker
and thread counts (uvicorn spawns its workers, each building the app).

    python benchmarks/candidate_uvicorn.py --port 8093
    python benchmarks/slow_clients.py --command "python $PWD/benchmarks/candidate_uvicorn.py
        --port {port}"   (one line; load_test.py takes the same as --service-command)
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from cds_service.settings import load_settings


def front() -> Any:
    from cds_service.web.app import create_app
    from cds_service.web.server import build_front

    settings = load_settings()
    return build_front(create_app(), settings.threads, settings)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8093)
    args = parser.parse_args()
    from cds_service.web.server import prepare_metrics_dir

    prepare_metrics_dir()
    uvicorn.run(
        "candidate_uvicorn:front",
        factory=True,
        port=args.port,
        workers=load_settings().workers,
        http="h11",
        log_level="warning",
        timeout_keep_alive=5,
    )
