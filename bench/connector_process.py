"""The ``bench`` connector as a process of its own, for W5.

Served the way ``dataworkflows serve connector <name>`` serves a connector (see
``_run_connector`` in ``dataworkflows.cli``): the actions wrapped in
:class:`ConnectorParts`, the app from :func:`create_connector_app` (the internal
connector API behind the service token), a socket from :func:`bind_socket`, and
uvicorn through :func:`serve_until_stopped` on the same event loop (uvloop) until
SIGTERM or Ctrl-C. The one addition is ``GET /v1/bench/ledger`` (also behind the
token): how often ``bench.step`` was called for each run and the latency it simulated,
which the benchmark reads once the runs are over to check that every step ran once.

    DW_SERVICE_TOKEN=... python bench/connector_process.py --port 8199 --latency 50ms

``bench/w5.py`` starts and stops it; it is not meant to be run by hand.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Sequence

from litestar import get
from workloads import CallLedger, Latency, bench_actions, latency_arg

from dataworkflows.runtime.aio import run as run_loop
from dataworkflows.runtime.connector_app import ConnectorParts, create_connector_app
from dataworkflows.runtime.logging import configure_logging, get_logger
from dataworkflows.runtime.serving import ServedApp, bind_socket, serve_until_stopped

__all__ = ["main"]

TOKEN_ENV = "DW_SERVICE_TOKEN"  # noqa: S105 - the variable's name, not a secret
_log = get_logger("bench.connector")


def connector_parts(latency: Latency, seed: int) -> ConnectorParts:
    """The ``bench`` actions and the ledger route."""
    ledger = CallLedger()
    actions = bench_actions(latency, ledger, random.Random(seed))

    @get("/bench/ledger", summary="bench.step calls per run", sync_to_thread=False)
    def calls() -> dict[str, tuple[float, int]]:
        return ledger.snapshot()

    return ConnectorParts(actions=actions, routes=[calls])


def main(argv: Sequence[str]) -> int:
    """Serve the bench connector until SIGTERM; the exit status."""
    p = argparse.ArgumentParser(prog="bench/connector_process.py", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--latency", type=latency_arg, default=Latency(kind="zero"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    args = p.parse_args(argv)
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        print(f"{TOKEN_ENV} is not set", file=sys.stderr)
        return 2
    configure_logging(level=args.log_level, fmt="json", stream=sys.stderr, secrets=(token,))
    parts = connector_parts(args.latency, args.seed)
    sock = bind_socket(args.host, args.port)

    async def serve() -> None:
        app = create_connector_app(
            parts.actions,
            service_token=token,
            readiness=parts.readiness,
            extra_routes=parts.routes,
        )
        served = ServedApp(name="connector-bench", app=app, sock=sock)

        def started() -> None:
            _log.info("connector listening", connector="bench", port=served.port)

        await serve_until_stopped([served], on_started=started)

    try:
        run_loop(serve())
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
