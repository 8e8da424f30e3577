"""The engine's domain errors: what went wrong, in terms of workflows and runs.

The service raises these, knowing nothing of HTTP; the engine's API answers each as a
problem document (:func:`as_problem`), with the status its kind stands for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from dataworkflows.runtime.problems import FieldError, Problem

__all__ = [
    "ConnectorFailed",
    "EngineError",
    "Invalid",
    "NotFound",
    "StateConflict",
    "Unauthorized",
    "Unavailable",
    "as_problem",
]


class EngineError(Exception):
    """Something the caller asked cannot be done; ``detail`` says why, for humans."""

    status: ClassVar[int] = 500

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        retry_after_s: float | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        """Each invalid field and its problem."""
        self.retry_after_s = retry_after_s
        """When trying again may help."""
        self.extra = dict(extra or {})
        """More members for the answer (a conflicting run's id...)."""


class NotFound(EngineError):
    """There is no such workflow, run or connector."""

    status = 404


class Invalid(EngineError):
    """A definition or a run's inputs are invalid; ``errors`` lists each problem."""

    status = 422


class Unauthorized(EngineError):
    """The sender of a webhook delivery is not who the hook expects."""

    status = 401


class StateConflict(EngineError):
    """The request does not fit the state things are in (a run already ended, an
    idempotency key used for another request)."""

    status = 409


class Unavailable(EngineError):
    """The engine cannot do it now (shutting down, a connector unreachable)."""

    status = 503


class ConnectorFailed(EngineError):
    """A connector's action failed when tried directly; ``status`` is its error's."""

    def __init__(self, detail: str, *, status: int, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.answer_status = status


def as_problem(error: EngineError) -> Problem:
    """The problem document answering ``error``."""
    status = error.answer_status if isinstance(error, ConnectorFailed) else error.status
    headers = {}
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, round(error.retry_after_s)))
    return Problem(status, error.detail, errors=error.errors, headers=headers, extra=error.extra)
