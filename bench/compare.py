#!/usr/bin/python3
"""./dev compare: measure.py (rounds -> results.json), then report.py (-> RESULTS.md, plot).

Arguments go to measure.py; see its --help.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure  # noqa: E402
import report  # noqa: E402

if __name__ == "__main__":
    status = measure.main()
    report.main([])
    sys.exit(status)
