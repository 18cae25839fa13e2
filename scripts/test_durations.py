"""Write tests/durations.json, the seconds each test module took, from the output of
``make test PYTEST_ARGS=--durations=0`` (saved to a file): tests/conftest.py hands the longest
groups of tests to the pytest workers first.

    .venv/bin/python scripts/test_durations.py test-run.log
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

#: ``12.34s call     tests/x/test_y.py::test_z[id]@group`` (xdist's group suffix after the id)
DURATION = re.compile(r"^(\d+(?:\.\d+)?)s (?:setup|call|teardown)\s+([^:\s]+\.py)::", re.MULTILINE)
TARGET = Path(__file__).resolve().parents[1] / "tests" / "durations.json"


def module_seconds(log: str) -> dict[str, float]:
    seconds: Counter[str] = Counter()
    for match in DURATION.finditer(log):
        seconds[match.group(2)] += float(match.group(1))
    return {module: round(total, 1) for module, total in sorted(seconds.items())}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    seconds = module_seconds(Path(argv[0]).read_text(encoding="utf-8", errors="replace"))
    if not seconds:
        print(f"no --durations=0 lines in {argv[0]}", file=sys.stderr)
        return 1
    TARGET.write_text(json.dumps(seconds, indent=1) + "\n", encoding="utf-8")
    print(f"{TARGET}: {len(seconds)} modules, {sum(seconds.values()):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
