"""SQL blocks used by the runtime itself (the migration runner)."""
