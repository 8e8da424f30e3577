"""W1 of BENCHMARK.md: 10 sequential connector calls with simulated latency.

    uv run python bench/w1.py --latency 50ms --in-flight 1000 --duration 30

See bench/README.md for every option and what each figure means.
"""

from __future__ import annotations

import sys

from workloads import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], workload="W1"))
