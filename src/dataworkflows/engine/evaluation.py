"""Evaluating a definition's values during a run, within limits.

Literals, plain paths (``{{ steps.read.output.items }}``) and expressions whose cost is
bounded by their size (no loops, calls or repetition: ``{{ x is not none }}``,
``{{ items | select | list }}``), most values by far, are evaluated right here.
Anything else goes to the :class:`~dataworkflows.runtime.evaluation_pool.EvaluationPool`,
so that a hostile or careless expression costs a worker process its time and memory,
never the event loop the engine's other runs share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dataworkflows.engine.expressions import (
    CompiledValue,
    ExpressionError,
    evaluate,
    worker_context,
)
from dataworkflows.runtime.evaluation_pool import EvaluationFailed, EvaluationLimit, EvaluationPool

__all__ = ["Evaluator", "ExpressionLimitExceeded"]


class ExpressionLimitExceeded(ExpressionError):
    """An expression went over a limit (time, memory, size of its result)."""


class Evaluator:
    """Evaluates compiled definition values: simple ones here, jinja in ``pool``."""

    def __init__(self, pool: EvaluationPool) -> None:
        self.pool = pool

    async def evaluate(
        self, value: CompiledValue, context: Mapping[str, Any], *, seconds: float | None = None
    ) -> Any:
        """The value of ``value`` in ``context``, taking at most ``seconds`` (and the
        pool's limit). Raises :class:`ExpressionError`, or
        :class:`ExpressionLimitExceeded` naming the limit."""
        if not value.needs_isolation:
            return evaluate(value, context)
        try:
            return await self.pool.run(
                "expression",
                value.raw,
                worker_context(value, context),
                value.condition,
                seconds=seconds,
            )
        except EvaluationLimit as exc:
            label = _label(value)
            raise ExpressionLimitExceeded(f"{label}: {exc}" if label else str(exc)) from None
        except EvaluationFailed as exc:
            raise ExpressionError(exc.message) from None


def _label(value: CompiledValue) -> str:
    """The expression's text, shortened (none for a mapping or list of them)."""
    if not value.source:
        return ""
    return value.source if len(value.source) <= 80 else value.source[:77] + "..."
