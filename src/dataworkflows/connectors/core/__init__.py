"""The built-in ``core`` connector: actions with no external system, for tests and benchmarks."""

from dataworkflows.connectors.core.service import core_actions

__all__ = ["core_actions"]
