"""Running the real ``dataworkflows`` command as a subprocess, as a user or compose would."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

DATAWORKFLOWS = str(Path(sys.executable).with_name("dataworkflows"))

# Variables a developer may have exported that would leak into the child.
_SCRUBBED = ("DATABASE_URL", "DW_HOST", "DW_PORT", "DW_DATA_DIR", "DW_LOG_LEVEL", "DW_LOG_FORMAT")


def cli_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment for a child process: ours minus DW settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env["CI"] = "true"  # never open a browser
    env.update(extra)
    return env


class CliProcess:
    """``dataworkflows <args>`` in the background, with its output kept in files."""

    def __init__(self, *args: str, env: Mapping[str, str], cwd: Path) -> None:
        self.args = args
        self.env = cli_env(env)
        self.cwd = cwd
        self._stdout_path = cwd / f"stdout-{os.getpid()}-{id(self)}.log"
        self._stderr_path = cwd / f"stderr-{os.getpid()}-{id(self)}.log"
        self._stdout: IO[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        """Start the process."""
        self._stdout = self._stdout_path.open("wb")
        self._stderr = self._stderr_path.open("wb")
        self.process = subprocess.Popen(
            [DATAWORKFLOWS, *self.args],
            env=self.env,
            cwd=self.cwd,
            stdout=self._stdout,
            stderr=self._stderr,
        )
        return self

    @property
    def stdout(self) -> str:
        """Everything the process printed on stdout so far."""
        return self._stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        """Everything the process printed on stderr so far (its logs)."""
        return self._stderr_path.read_text(errors="replace")

    def wait_http(
        self,
        url: str,
        *,
        status: int = 200,
        timeout: float = 60.0,
        verify: ssl.SSLContext | bool = True,
    ) -> httpx.Response:
        """Poll ``url`` until it answers ``status``; fail with the process's output if not.
        ``verify``: what an https:// URL's certificate is checked against."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last: str = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.args} exited with {self.process.returncode}\n{self.stderr[-4000:]}"
                )
            try:
                response = httpx.get(url, timeout=2.0, verify=verify)
            except httpx.TransportError as exc:
                last = repr(exc)
            else:
                if response.status_code == status:
                    return response
                last = f"{response.status_code} {response.text[:200]}"
            time.sleep(0.1)
        raise AssertionError(
            f"{url} did not answer {status} in {timeout} s: {last}\n{self.stderr[-4000:]}"
        )

    def wait_stdout(self, text: str, *, timeout: float = 10.0) -> str:
        """Wait until ``text`` appears on stdout; the whole stdout then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.stdout
            if text in out:
                return out
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not printed within {timeout} s:\n{self.stdout[-2000:]}")

    def stop(self, signum: int = signal.SIGTERM, *, timeout: float = 30.0) -> int:
        """Send ``signum`` and wait for the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._close_files()

    def _close_files(self) -> None:
        for handle in (self._stdout, self._stderr):
            if handle is not None and not handle.closed:
                handle.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._close_files()


def run_cli(
    *args: str, env: Mapping[str, str], cwd: Path, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``dataworkflows <args>`` to completion and capture its output."""
    return subprocess.run(
        [DATAWORKFLOWS, *args],
        env=cli_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
