"""``python -m dataworkflows``: the same command as ``dataworkflows``."""

from dataworkflows.cli import main

if __name__ == "__main__":
    main()
