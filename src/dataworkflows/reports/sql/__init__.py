"""SQL blocks the reports module runs: calls of the dw.* report functions."""
