"""The web console: runs and their steps, for people, served by the engine at ``/``."""
