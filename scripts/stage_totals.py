"""Add up the JUnit reports of `./dev test`'s stages into one closing line.

Usage: python scripts/stage_totals.py .reports/*.xml

Prints one line per report, the expected failures, and last `tests: N passed, N failed, N skipped`
(errors count as failed; an expected failure is counted apart from skips).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def counts(path: Path) -> tuple[int, int, int, int]:
    """(passed, failed, skipped, xfailed) of one JUnit report; an xfail is not a skip."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = failed = skipped = xfailed = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
        xfailed += sum(1 for s in suite.iter("skipped") if s.get("type") == "pytest.xfail")
    return total - failed - skipped, failed, skipped - xfailed, xfailed


def main(argv: list[str]) -> int:
    passed = failed = skipped = xfailed = 0
    for name in argv:
        path = Path(name)
        if not path.is_file():
            continue
        p, f, s, x = counts(path)
        print(f"  {path.stem:<12} {p} passed, {f} failed, {s} skipped, {x} xfailed", file=sys.stderr)
        passed, failed, skipped, xfailed = passed + p, failed + f, skipped + s, xfailed + x
    print(f"  expected failures (xfail): {xfailed}", file=sys.stderr)
    # The closing line keeps the plain "N passed, N failed, N skipped" form that CI reads.
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
