#!/usr/bin/env python3
"""The generated figures of the docs cannot be edited by hand unnoticed.

For every program that writes figures into a page between marker lines (bench/report.py,
bench/defaults_study.py, bench/lr_sweep.py, mpi/bench/cost_model.py,
examples/denoising/experiment.py), its --check passes on a copy of the page as committed, and
fails once a single digit inside any one of its regions is changed: the first digit of a region,
and, separately, its last one, so that a check reading only part of a region fails here. A
page that lost its begin markers fails too. And bench/RESULTS.md, report.py's output as a whole,
fails its check with a digit changed in its step tables or in its section "What users run"
(from bench/user_runs/*.json).
"""
import itertools
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# (page, begin marker, end marker, the check's command with {doc} for the page's copy)
CHECKS = [
    ("docs/benchmarks.md", r"<!-- bench/report\.py: begin \S+ -->",
     r"<!-- bench/report\.py: end \S+ -->", ["bench/report.py", "--check", "--docs", "{doc}"]),
    ("docs/real-data.md", r"<!-- bench/defaults_study\.py \S+: begin \S+ -->",
     r"<!-- bench/defaults_study\.py: end \S+ -->",
     ["bench/defaults_study.py", "--from-json", "bench/defaults_study.json", "--doc", "{doc}",
      "--check"]),
    ("docs/default-learning-rate.md", r"<!-- bench/lr_sweep\.py: begin table -->",
     r"<!-- bench/lr_sweep\.py: end table -->",
     ["bench/lr_sweep.py", "--from-json", "bench/lr_sweep.json", "--doc", "{doc}", "--check"]),
    ("docs/distributed.md", r"<!-- mpi/bench/cost_model\.py .*: begin \S+ -->",
     r"<!-- mpi/bench/cost_model\.py: end \S+ -->",
     ["mpi/bench/cost_model.py", "--doc", "{doc}", "--check"]),
    ("docs/denoising.md", r"<!-- examples/denoising/experiment\.py: begin results -->",
     r"<!-- examples/denoising/experiment\.py: end results -->",
     ["examples/denoising/experiment.py", "--from-json", "examples/denoising/results.json",
      "--doc", "{doc}", "--check"]),
]


def regions(lines, begin, end):
    """(first, last) line indices of each region's body, between its marker lines."""
    found, start = [], None
    for i, line in enumerate(lines):
        if re.fullmatch(begin, line):
            start = i + 1
        elif start is not None and re.fullmatch(end, line):
            found.append((start, i))
            start = None
    return found


def with_digit_changed(lines, first, last, from_end=False):
    """A copy of lines with the first digit of lines[first:last] changed (from_end: the last
    digit), or None when there is none."""
    for i in (reversed(range(first, last)) if from_end else range(first, last)):
        digits = list(re.finditer(r"\d", lines[i]))
        if digits:
            m = digits[-1] if from_end else digits[0]
            digit = str((int(m.group()) + 1) % 10)
            changed = list(lines)
            changed[i] = lines[i][:m.start()] + digit + lines[i][m.end():]
            return changed
    return None


def check(command, doc):
    args = [str(doc) if a == "{doc}" else a for a in command]
    return subprocess.run([PYTHON, str(ROOT / args[0])] + args[1:], cwd=ROOT,
                          capture_output=True, text=True, check=False)


class GeneratedFiguresTest(unittest.TestCase):
    def test_each_region_catches_a_changed_digit(self):
        for page, begin, end, command in CHECKS:
            lines = (ROOT / page).read_text().split("\n")
            found = regions(lines, begin, end)
            with self.subTest(page=page), tempfile.TemporaryDirectory() as tmp:
                self.assertTrue(found, f"{page}: expected regions between '{begin}' and '{end}'")
                doc = Path(tmp) / Path(page).name
                shutil.copy(ROOT / page, doc)
                done = check(command, doc)
                self.assertEqual(done.returncode, 0, f"{page} as committed: {done.stderr}")
                for (first, last), from_end in itertools.product(found, (False, True)):
                    changed = with_digit_changed(lines, first, last, from_end)
                    self.assertIsNotNone(changed, f"{page}: no figure in lines {first}-{last}")
                    doc.write_text("\n".join(changed))
                    done = check(command, doc)
                    where = "last" if from_end else "first"
                    self.assertEqual(done.returncode, 1, f"{page}: the {where} digit changed in "
                                     f"lines {first + 1}-{last} went unnoticed: {done.stdout}")

    def test_a_page_without_its_markers_fails(self):
        for page, begin, _, command in CHECKS:
            lines = (ROOT / page).read_text().split("\n")
            with self.subTest(page=page), tempfile.TemporaryDirectory() as tmp:
                doc = Path(tmp) / Path(page).name
                doc.write_text("\n".join(line for line in lines if not re.fullmatch(begin, line)))
                done = check(command, doc)
                self.assertNotEqual(done.returncode, 0,
                                    f"{page} without its begin markers passed: {done.stdout}")

    def test_results_md_catches_a_changed_digit(self):
        lines = (ROOT / "bench" / "RESULTS.md").read_text().split("\n")
        self.assertTrue("## What users run" in lines, "bench/RESULTS.md: expected the section "
                        "'What users run' (bench/user_runs/*.json)")
        users = lines.index("## What users run")
        with tempfile.TemporaryDirectory() as tmp:
            command = ["bench/report.py", "--check", "--out-dir", tmp]
            (Path(tmp) / "RESULTS.md").write_text("\n".join(lines))
            done = check(command, None)
            self.assertEqual(done.returncode, 0, f"RESULTS.md as committed: {done.stderr}")
            for (first, last), from_end in itertools.product(((0, users), (users, len(lines))),
                                                             (False, True)):
                changed = with_digit_changed(lines, first, last, from_end)
                (Path(tmp) / "RESULTS.md").write_text("\n".join(changed))
                done = check(command, None)
                self.assertEqual(done.returncode, 1, f"RESULTS.md: a digit changed in lines "
                                 f"{first + 1}-{last} went unnoticed: {done.stdout}")


if __name__ == "__main__":
    unittest.main()
