"""Tests of cli_test.py (its CliTest inherits them; run that file): which defaults a run takes.
The data decide (issue 20): with --x/--y the real-data defaults hold whatever else is given,
--epochs only caps the epochs; the seed experiment's defaults belong to generated data, with or
without --epochs, and to --steps.
"""

import json
import os
import re

import numpy as np

DEFAULTS_LINE = "defaults for real data:"


def epoch_lines(stdout):
    return [line for line in stdout.splitlines() if line.startswith("epoch ")]


class ModeTests:
    def settings(self, model):
        with open(self.path(model, "model.json")) as f:
            return json.load(f)["settings"]

    def large_scale_data(self):
        """Columns of magnitude 1000, targets of magnitude 1: the seed's defaults (N(0, 1)
        weights, sgd at 5e-9 on the summed loss) overflow on them in the first epoch."""
        rng = np.random.default_rng(1)
        x = 1000.0 * rng.standard_normal((300, 20))
        y = x[:, :2] @ np.array([[1.0, -0.5], [0.5, 2.0]]) / 1000.0
        return self.save("bx.npy", x), self.save("by.npy", y)

    def test_epochs_with_data_keeps_the_real_data_defaults(self):
        # Issue 20: --epochs switched every default back to the seed's, and the README's own
        # example (--x/--y --epochs 10) diverged with exit 3.
        x, y = self.large_scale_data()
        capped = self.ok("--x", x, "--y", y, "--epochs", 3, "--threads", 1, "--weights-out", "a")
        alone = self.ok("--x", x, "--y", y, "--threads", 1, "--weights-out", "b")
        first, alone_first = capped.stdout.splitlines()[0], alone.stdout.splitlines()[0]
        self.assertTrue(first.startswith(DEFAULTS_LINE), capped.stdout)
        # The same defaults, but for the epochs given.
        self.assertRegex(alone_first, r" --epochs \d+ \(at most\) ")
        self.assertNotIn("--epochs", first)
        self.assertEqual(first, re.sub(r" --epochs \d+ \(at most\)", "", alone_first))
        self.assertIn(" --patience ", first)
        self.assertIn(" --validation-fraction ", first)
        a, b = self.settings("a"), self.settings("b")
        self.assertEqual(a.pop("epochs"), "3")
        b.pop("epochs")
        self.assertEqual(a, b)
        self.assertNotEqual((a["optimizer"], a["loss"]), ("sgd", "sum"))
        # Early stopping's validation set is held out: the epoch lines report on it.
        lines = epoch_lines(capped.stdout)
        self.assertEqual(len(lines), 3, capped.stdout)
        self.assertTrue(all(" val_loss " in line for line in lines), capped.stdout)

    def test_epochs_without_data_keep_the_seed_defaults(self):
        run = ["--layers", "6,5,2", "--rows", 16, "--quiet"]
        r = self.ok(*run, "--epochs", 2, "--weights-out", "g")
        self.assertNotIn(DEFAULTS_LINE, r.stdout)
        self.ok(*run, "--steps", 3, "--weights-out", "s")
        seed = {"optimizer": "sgd", "learning_rate": "5e-09", "loss": "sum", "init": "normal"}
        for model in ("g", "s"):
            with self.subTest(model=model):
                settings = self.settings(model)
                self.assertEqual({k: settings[k] for k in seed}, seed)
        # No validation set without data: every generated row trains, 16 rows in batches of 32.
        self.assertEqual(self.settings("g")["epochs"], "2")
        self.assertIn("after 2 steps in 2 epochs (all asked for", r.stdout)

    def test_steps_with_data_keep_the_seed_defaults(self):
        x, y = self.data()
        r = self.ok("--x", x, "--y", y, "--steps", 3, "--weights-out", "m", "--quiet")
        self.assertNotIn(DEFAULTS_LINE, r.stdout)
        settings = self.settings("m")
        self.assertEqual((settings["optimizer"], settings["loss"], settings["init"]),
                         ("sgd", "sum", "normal"))

    def test_validation_fraction_zero_trains_on_every_row(self):
        x, y = self.data(rows=40)
        r = self.ok("--x", x, "--y", y, "--epochs", 2, "--batch-size", 8,
                    "--validation-fraction", 0, "--threads", 1)
        lines = epoch_lines(r.stdout)
        self.assertEqual(len(lines), 2, r.stdout)
        self.assertFalse(any(" val_loss " in line for line in lines), r.stdout)
        self.assertIn("after 10 steps in 2 epochs (all asked for", r.stdout)  # 40 rows, 5 batches an epoch
        # Nothing to stop on: --patience's default is not taken, and given it is refused.
        self.assertNotIn("--patience", r.stdout.splitlines()[0])
        self.assert_refused_before_training(
            ["--x", x, "--y", y, "--validation-fraction", 0, "--patience", 2],
            "--patience needs a validation set")

    def test_checkpoint_with_data_needs_epochs_and_takes_them(self):
        x, y = self.data(rows=40)
        self.assert_refused_before_training(["--x", x, "--y", y, "--checkpoint", "ck"],
                                            "--checkpoint needs --epochs (a fixed number of "
                                            "epochs)")
        self.ok("--x", x, "--y", y, "--epochs", 1, "--checkpoint", "ck", "--quiet")
        self.ok("--x", x, "--y", y, "--epochs", 2, "--resume", "ck", "--quiet")
        self.assertTrue(os.path.isdir(self.path("ck")))

    def test_help_says_which_defaults_apply_when(self):
        text = " ".join(self.run_cli("--help").stdout.split())
        self.assertIn("--x/--y: the defaults are for real data, whatever else is given", text)
        self.assertIn("--epochs E only sets the most epochs", text)
        self.assertIn("Without --x/--y: the seed's experiment", text)
        self.assertIn("--steps N, with or without --x/--y: the seed's full-batch steps", text)
