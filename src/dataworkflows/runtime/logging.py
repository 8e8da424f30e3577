"""Structured logging: JSON lines by default, a readable console format on request.

Our own records (structlog) and those of uvicorn, litestar and psycopg (stdlib
``logging``) go through one formatter, so every line has the same shape and carries
the request id (and later the run and step ids) bound in :mod:`structlog.contextvars`.
Secret-named fields are redacted before rendering.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

from dataworkflows.runtime.redaction import REDACTED, Redactor, is_secret_key
from dataworkflows.runtime.settings import LogFormat

__all__ = ["configure_logging", "get_logger"]


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A logger for module ``name``; bind run/step ids on it or via contextvars."""
    return structlog.stdlib.get_logger(name)


class _SecretsProcessor:
    """Masks secret-named fields and the configured secret values in every record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._redact = Redactor(secrets)

    def __call__(self, _: Any, __: str, event_dict: EventDict) -> EventDict:
        event_dict.pop("color_message", None)  # uvicorn's ANSI-coloured copy of "event"
        for key, value in event_dict.items():
            if key in _PASSTHROUGH:
                continue
            event_dict[key] = REDACTED if is_secret_key(key) and value else self._redact(value)
        return event_dict


# Fields structlog itself interprets: left as they are.
_PASSTHROUGH = frozenset({"exc_info", "stack_info", "_record", "_from_structlog", "logger"})


class _ServerLifecycleFilter(logging.Filter):
    """Keeps uvicorn's start/stop narration at debug level only: every component logs
    its own 'listening' line, and ``dev`` serves several apps, each of which would add
    the same three lines at start and three at stop."""

    _NARRATION = (
        "Started server process",
        "Waiting for application startup",
        "Application startup complete",
        "Shutting down",
        "Waiting for application shutdown",
        "Application shutdown complete",
        "Finished server process",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not isinstance(record.msg, str):
            return True
        if not record.msg.startswith(self._NARRATION):
            return True
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def configure_logging(
    *,
    level: str,
    fmt: LogFormat,
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Route every log record of this process to ``stream`` (stderr) in format ``fmt``
    (``auto``: console on a terminal, else JSON).

    ``secrets`` (API keys, tokens) are masked wherever they appear, tracebacks included.
    """
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks become text first, so the masking below sees them too.
        structlog.processors.format_exc_info,
        _SecretsProcessor(secrets),
    ]
    renderer: Processor
    if fmt == "auto":
        # People read a terminal; anything else (a file, a collector) reads JSON.
        fmt = "console" if (stream or sys.stderr).isatty() else "json"
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=(stream or sys.stderr).isatty())

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Module-level loggers may be created before this runs; caching would pin
        # them to the defaults.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own handlers would print a second, differently shaped line; its
    # access log is replaced by our request log, which carries the request id.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.filters[:] = [
        f for f in uvicorn_error.filters if not isinstance(f, _ServerLifecycleFilter)
    ]
    uvicorn_error.addFilter(_ServerLifecycleFilter())
    # pgserver narrates every start at INFO; its failures still show.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
