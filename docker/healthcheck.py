"""Docker HEALTHCHECK: GET /healthz on the port ``cds-service serve`` was given.

The port and address are read from the serve process's command line (``--port``/``--host``),
so ``docker run IMAGE --port 9000`` stays healthy; exit 0 when the service answers 200.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path


def _option(argv: list[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def target() -> tuple[str, str]:
    for cmdline in sorted(Path("/proc").glob("[0-9]*/cmdline")):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "serve" in argv and any(a.endswith("cds-service") for a in argv[:2]):
            host = _option(argv, "--host") or "127.0.0.1"
            port = _option(argv, "--port") or "8080"
            return ("127.0.0.1" if host in ("0.0.0.0", "::", "") else host), port
    return "127.0.0.1", "8080"


def main() -> int:
    host, port = target()
    host = f"[{host}]" if ":" in host else host
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: http://{host}:{port}/healthz: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
