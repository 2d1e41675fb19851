"""The command line the tools' test scripts share: `SCRIPT --bin-dir DIR [unittest args]`."""
import os
import sys
import unittest


def bin_dir_and_argv(argv):
    """(DIR, argv without --bin-dir DIR); without them, the usage and exit status 2."""
    argv = list(argv)
    if "--bin-dir" not in argv[:-1]:
        sys.stderr.write("usage: %s --bin-dir DIR [unittest args]\n" % argv[0])
        sys.exit(2)
    i = argv.index("--bin-dir")
    bin_dir = os.path.abspath(argv[i + 1])
    del argv[i:i + 2]
    return bin_dir, argv


def run_tests(argv):
    """The running script's tests (unittest, verbose): exit status 0 when all passed, else 1."""
    result = unittest.main(module="__main__", argv=argv, exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1
