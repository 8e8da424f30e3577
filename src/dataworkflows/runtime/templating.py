"""What the product's jinja sandboxes share (definition expressions, report templates)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from dataworkflows.runtime.struct_errors import did_you_mean

__all__ = ["DataFirstEnvironment", "syntax_message"]

_UNKNOWN_NAME: Final = re.compile(r"^No (?P<kind>filter|test) named '(?P<name>[^']*)'\.?")


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


def syntax_message(exc: jinja2.TemplateSyntaxError, environment: jinja2.Environment) -> str:
    """jinja's message for ``exc``; for an unknown filter or test (a typo, mostly), with
    the one probably meant: "No filter named 'uper'; did you mean 'upper'?"."""
    unknown = _UNKNOWN_NAME.match(exc.message or "")
    if not unknown:
        return exc.message or "does not compile"
    kind, name = unknown.group("kind"), unknown.group("name")
    known = environment.filters if kind == "filter" else environment.tests
    return f"No {kind} named {name!r}{did_you_mean(name, known) or '.'}"
