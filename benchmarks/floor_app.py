"""The load test's floor: the same server settings, an endpoint that only decodes the body
(with orjson, as the service does; ``CDS_FLOOR_DECODER=json`` for the standard library).

python benchmarks/floor_app.py --port 8092
"""

from __future__ import annotations

import argparse
import json
import os

import orjson
from flask import Flask, Response, jsonify, request

from cds_service.settings import load_settings
from cds_service.web.server import serve


def floor_app() -> Flask:
    app = Flask("floor")
    loads = json.loads if os.environ.get("CDS_FLOOR_DECODER") == "json" else orjson.loads

    @app.post("/cds-services/<service_id>")
    def decode_only(service_id: str) -> Response:
        loads(request.get_data())
        return jsonify({"cards": []})

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8092)
    args = parser.parse_args()
    settings = load_settings()
    serve(
        args.host,
        args.port,
        settings.workers,
        settings.threads,
        settings.worker_timeout,
        loader=floor_app,
    )
