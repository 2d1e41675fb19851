#!/usr/bin/env python3
"""Checks that the C++ in the documents is the code ctest compiles and runs.

A code block that follows a marker line

    <!-- example: examples/guide/fit.cpp -->

must be byte for byte that file (which ctest builds and runs). In a document given with
--strict, every ```cpp block must have such a marker; every example directory given with
--examples must have each of its .cpp files shown somewhere. So a document cannot show code
that does not compile, and an example cannot change without its document.

    check_doc_examples.py --root REPO [--examples DIR]... [--strict DOC.md]... [DOC.md]...
    check_doc_examples.py --root REPO --update DOC.md...   rewrites the blocks from the files

Exit status 0 when everything matches, 1 with a diff per difference otherwise.
"""

import argparse
import difflib
import pathlib
import re
import sys

MARKER = re.compile(r"^<!-- example: (\S+) -->$")
FENCE = re.compile(r"^```(\S*)\s*$")
CPP = {"cpp", "c++", "cxx"}


def blocks(text):
    """Yields (marker path or None, language, first line index, end line index, body)."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        body = "\n".join(lines[start + 1 : j]) + "\n"
        previous = start - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        marker = MARKER.match(lines[previous]) if previous >= 0 else None
        yield (marker.group(1) if marker else None, fence.group(1), start, j, body)
        i = j + 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, type=pathlib.Path)
    parser.add_argument("--examples", action="append", default=[],
                        help="a directory (relative to --root) whose .cpp files must all be shown")
    parser.add_argument("--update", action="store_true", help="rewrite the blocks from the files")
    parser.add_argument("--strict", action="append", default=[],
                        help="a document whose every C++ block must be an example")
    parser.add_argument("documents", nargs="*")
    args = parser.parse_args()
    documents = args.strict + args.documents
    if not documents:
        parser.error("no documents given")

    problems = []
    shown = set()
    for document in documents:
        path = args.root / document
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        replacements = []
        for marker, language, start, end, body in blocks(text):
            if marker is None:
                if language in CPP and document in args.strict:
                    problems.append(f"{document}:{start + 1}: a ```{language} block without an "
                                    f"'<!-- example: FILE -->' marker before it")
                continue
            shown.add(marker)
            source = args.root / marker
            if not source.is_file():
                problems.append(f"{document}:{start + 1}: {marker} does not exist")
                continue
            expected = source.read_text(encoding="utf-8")
            if body == expected:
                continue
            if args.update:
                replacements.append((start, end, expected))
                continue
            diff = "".join(difflib.unified_diff(
                expected.splitlines(keepends=True), body.splitlines(keepends=True),
                fromfile=marker, tofile=f"{document} (block at line {start + 1})"))
            problems.append(f"{document}:{start + 1}: the block differs from {marker}:\n{diff}")
        if args.update and replacements:
            for start, end, expected in reversed(replacements):
                lines[start + 1 : end] = expected.rstrip("\n").split("\n")
            path.write_text("\n".join(lines), encoding="utf-8")
            print(f"{document}: {len(replacements)} block(s) rewritten")

    for directory in args.examples:
        for source in sorted((args.root / directory).glob("*.cpp")):
            relative = source.relative_to(args.root).as_posix()
            if relative not in shown:
                problems.append(f"{relative} is not shown in any of {', '.join(documents)}")

    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(shown)} examples, each shown verbatim in {', '.join(documents)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
