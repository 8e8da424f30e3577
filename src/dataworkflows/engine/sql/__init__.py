"""SQL blocks the engine runs: calls of the dw.* stored functions."""
