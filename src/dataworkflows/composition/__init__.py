"""Composition: where the components are wired from their parts and the settings.

The one layer that may know every package (above the engine, the connectors, the
reports, the bot and the tracker, below the CLI). Each module builds one component's
process from its adapters.
"""
