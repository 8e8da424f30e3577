"""W2 of BENCHMARK.md: W1 with no connector latency, the ceiling of durable steps/s.

    uv run python bench/w2.py --in-flight 1000 --duration 30

See bench/README.md for every option and what each figure means.
"""

from __future__ import annotations

import sys

from workloads import Latency, main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], workload="W2", latency=Latency(kind="zero")))
