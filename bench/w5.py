"""W5 of BENCHMARK.md: W1 with the connector in a separate process, called over HTTP.

    uv run python bench/w5.py --in-flight 1000 --duration 20
    uv run python bench/w5.py --latency 50ms --in-flight 1000 --duration 20

The ``bench`` connector runs in a child process (``bench/connector_process.py``,
served like ``dataworkflows serve connector``) on 127.0.0.1; the engine reaches it
through its HTTP connector adapter (``connector_urls={"bench": url}`` and the
service token, as ``DW_CONNECTOR_URLS`` and ``DW_SERVICE_TOKEN`` would configure it).
The load driver and the engine share this process, as in W1. See bench/README.md.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Final

import httpx
import msgspec
import psutil  # type: ignore[import-untyped]  # no stubs installed
from workloads import Options, RemoteBench, options_from, parser, progress, run_measurements

START_TIMEOUT_S: Final = 30.0
STOP_TIMEOUT_S: Final = 15.0
_HERE: Final = Path(__file__).resolve().parent


class ConnectorProcess:
    """The bench connector's child process, as the engine and the meters see it."""

    def __init__(self, process: subprocess.Popen[bytes], *, url: str, token: str) -> None:
        self._process = process
        self._ps = psutil.Process(process.pid)
        self._url = url
        self._token = token

    @property
    def url(self) -> str:
        return self._url

    @property
    def token(self) -> str:
        return self._token

    @property
    def label(self) -> str:
        return f"separate process (pid {self._process.pid}) over HTTP at {self._url}"

    def cpu_seconds(self) -> float | None:
        try:
            times = self._ps.cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)

    def rss_mib(self) -> float | None:
        try:
            return float(self._ps.memory_info().rss) / (1024 * 1024)
        except psutil.Error:
            return None

    async def ledger(self) -> dict[str, tuple[float, int]]:
        async with httpx.AsyncClient(timeout=60.0) as client:
            response = await client.get(
                f"{self._url}/v1/bench/ledger",
                headers={"Authorization": f"Bearer {self._token}"},
            )
        response.raise_for_status()
        return msgspec.json.decode(response.content, type=dict[str, tuple[float, int]])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the connector process exited with status {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the connector process did not answer at {url} in {START_TIMEOUT_S:g} s")


@contextmanager
def connector_process(opts: Options, index: int, *, log_level: str) -> Iterator[RemoteBench]:
    """Start the bench connector process for measurement ``index``; stop it on exit."""
    token = secrets.token_urlsafe(32)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        str(_HERE / "connector_process.py"),
        "--port",
        str(port),
        "--latency",
        opts.latency.spec,
        "--seed",
        str(opts.seed + index),
        "--log-level",
        log_level,
    ]
    env = {**os.environ, "DW_SERVICE_TOKEN": token}
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    try:
        _wait_ready(process, url)
        connector = ConnectorProcess(process, url=url, token=token)
        progress(f"  {connector.label}")
        yield connector
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main(argv: Sequence[str]) -> int:
    """Parse ``argv``, measure, print; the exit status."""
    p = parser(
        "W5",
        with_latency=True,
        default_latency="0",
        description="W5 of BENCHMARK.md: W1 with the connector as a separate process, "
        "called over HTTP.",
    )
    p.add_argument(
        "--connector-log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="the connector process's log level (info, the CLI's default, logs a line "
        "per request; default warning)",
    )
    args = p.parse_args(argv)
    opts = replace(
        options_from(args, workload="W5", latency=args.latency),
        connector="a separate process on 127.0.0.1 (bench/connector_process.py), "
        f"over HTTP with the service token; its log level {args.connector_log_level}",
    )
    return run_measurements(
        opts,
        json_output=args.json,
        remote=lambda o, i: connector_process(o, i, log_level=args.connector_log_level),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
