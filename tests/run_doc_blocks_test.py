#!/usr/bin/env python3
"""The doc-block runner refuses what it would otherwise skip silently, and fails what fails.

    run_doc_blocks_test.py [unittest args]
"""

import os
import subprocess
import sys
import tempfile
import unittest

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_doc_blocks.py")
FENCE = "```"


class RunnerTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def run_doc(self, text, *extra):
        doc = os.path.join(self.tmp.name, "doc.md")
        with open(doc, "w") as f:
            f.write(text)
        return subprocess.run([sys.executable, RUNNER, "--work",
                               os.path.join(self.tmp.name, "work"), "--python", sys.executable,
                               *extra, doc], capture_output=True, text=True, timeout=60)

    def test_blocks_run_in_order_in_one_directory(self):
        p = self.run_doc(f"{FENCE}sh\necho 3 > n.txt\n{FENCE}\n\n"
                         f"{FENCE}python\nassert open('n.txt').read() == '3\\n'\n{FENCE}\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("2 run", p.stdout)

    def test_a_failing_command_fails_the_document(self):
        for body in ("false\necho after", "test -f missing.txt"):
            p = self.run_doc(f"{FENCE}sh\n{body}\n{FENCE}\n")
            self.assertEqual(p.returncode, 1, body)
            self.assertIn("doc.md:1: the ```sh block failed", p.stderr)
        p = self.run_doc(f"{FENCE}python\nraise SystemExit('no')\n{FENCE}\n")
        self.assertEqual(p.returncode, 1)

    def test_unmarked_blocks_that_are_not_run_are_errors(self):
        for fence in ("cpp", "cmake", ""):
            p = self.run_doc(f"text\n\n{FENCE}{fence}\nint main() {{}}\n{FENCE}\n")
            self.assertEqual(p.returncode, 1, fence)
            self.assertIn("is neither run nor marked", p.stderr)

    def test_markers_need_their_argument(self):
        p = self.run_doc(f"<!-- not run: -->\n{FENCE}sh\nfalse\n{FENCE}\n")
        self.assertIn("gives no reason", p.stderr)
        p = self.run_doc(f"<!-- needs: gpu -->\n{FENCE}sh\ntrue\n{FENCE}\n")
        self.assertIn("unknown need 'gpu'", p.stderr)

    def test_marked_blocks_are_skipped_or_written(self):
        p = self.run_doc(f"<!-- not run: long -->\n\n{FENCE}sh\nfalse\n{FENCE}\n"
                         f"<!-- example: examples/x/hello.txt -->\n{FENCE}cmake\nhi\n{FENCE}\n"
                         f"{FENCE}sh\ngrep -q hi hello.txt\n{FENCE}\n{FENCE}text\nout\n{FENCE}\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1 run, 1 skip, 1 text, 1 write", p.stdout)

    def test_a_need_that_is_missing_is_reported(self):
        p = self.run_doc(f"<!-- needs: mpirun -->\n{FENCE}sh\nfalse\n{FENCE}\n",
                         "--env", "PATH=/nonexistent")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("skipped, needs mpirun", p.stdout)

    def test_tools_and_environment_are_given(self):
        tools = os.path.join(self.tmp.name, "tools")
        os.makedirs(tools)
        with open(os.path.join(tools, "hello-tool"), "w") as f:
            f.write("#!/bin/sh\necho hello\n")
        os.chmod(os.path.join(tools, "hello-tool"), 0o755)
        p = self.run_doc(f"{FENCE}sh\nhello-tool | grep -q hello\ntest \"$ANSWER\" = 42\n{FENCE}\n",
                         "--path", tools, "--env", "ANSWER=42")
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
