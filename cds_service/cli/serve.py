"""``cds-service serve``: the HTTP service under granian, or Flask's reloader (``--dev``)."""

from __future__ import annotations

import argparse

from cds_service.cli.common import STORE, Commands, all_settings, checked_settings
from cds_service.errors import StartupError


def add(commands: Commands) -> None:
    from cds_service.settings import Settings

    defaults = Settings.model_fields
    serve = commands.add(
        "serve",
        "run the HTTP service under granian (--dev: Flask's reloader)",
        all_settings() + "\n" + STORE,
        run,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    for name, summary in (
        ("workers", "granian worker processes"),
        ("threads", "threads per worker"),
    ):
        serve.add_argument(
            f"--{name}",
            type=int,
            default=None,
            help=f"{summary} (default CDS_{name.upper()}, {defaults[name].default})",
        )
    serve.add_argument(
        "--dev", action="store_true", help="Flask's development server with the reloader"
    )


def run(args: argparse.Namespace) -> int:
    from cds_service.web.startup import check_port

    host, port, workers, threads = args.host, args.port, args.workers, args.threads
    if any(n is not None and n < 1 for n in (workers, threads)):
        raise StartupError("--workers and --threads must be whole numbers > 0")
    settings = checked_settings(store=True)
    check_port(host, port)
    if args.dev:
        from cds_service import create_app

        create_app().run(host=host, port=port, debug=True, use_reloader=True, threaded=True)
        return 0
    from cds_service.web.server import serve

    serve(
        host,
        port,
        workers or settings.workers,
        threads or settings.threads,
        settings.worker_timeout,
    )
    return 0
