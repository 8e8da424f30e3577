"""What composing a component can refuse."""

from __future__ import annotations

__all__ = ["ConfigurationProblem"]


class ConfigurationProblem(Exception):
    """The settings do not let this component start; the message says what to set."""
