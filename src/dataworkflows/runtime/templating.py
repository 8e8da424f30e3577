"""What the product's jinja sandboxes share (definition expressions, report templates)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

__all__ = ["DataFirstEnvironment"]


class DataFirstEnvironment(SandboxedEnvironment):
    """A sandboxed environment that reads mapping keys before attributes: in
    ``output.items`` or ``summary.items``, ``items`` is the data's key, not
    ``dict.items``."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)
