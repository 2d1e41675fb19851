#!/usr/bin/env python3
"""Writes the seed corpus of the .npy fuzzer (tests/fuzz/corpus/npy): files numpy writes,
and broken ones, one per way a file can be wrong. The corpus is committed; rerun this
only to change it. Inputs the fuzzer found are added by hand and this script leaves them
alone: valid-many-rows-no-columns (shape (1790921279, 0), which the harness once walked row
by row: a 10-second unit), broken-crash-binary-key-in-message and
broken-crash-binary-big-endian-descr (raw bytes that reached an error message)."""
import io
import pathlib
import struct
import sys

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "npy"


def npy(array, version=None):
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def raw(header, data=b"", version=1):
    """A hand-made file: any header text, any data."""
    text = header.encode("latin1")
    length = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + data


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    a = np.arange(12, dtype="<f4").reshape(3, 4) / 7
    files = {
        # Valid: both dtypes, both orders, every version, empty shapes, special values.
        "valid-f4-c": npy(a),
        "valid-f8-c": npy(a.astype("<f8")),
        "valid-f4-fortran": npy(np.asfortranarray(a)),
        "valid-f8-fortran": npy(np.asfortranarray(a.astype("<f8"))),
        "valid-v2": npy(a, version=(2, 0)),
        "valid-v3": npy(a, version=(3, 0)),
        "valid-0x3": npy(np.zeros((0, 3), "<f4")),
        "valid-3x0": npy(np.zeros((3, 0), "<f8")),
        "valid-1x1": npy(np.ones((1, 1), "<f8")),
        "valid-nan-inf": npy(np.array([[np.nan, np.inf], [-np.inf, -0.0]], "<f8")),
        "valid-f8-rounds-in-f4": npy(np.array([[1e-320, 3.4e39, 1 + 2**-30]], "<f8")),
        "valid-spaces": raw("{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 1 , 2 ) , }\n",
                            struct.pack("<2f", 1, 2)),
        # Broken: every way the issue lists, and the parser's corners.
        "broken-empty": b"",
        "broken-magic": b"\x93NUMPZ\x01\x00" + npy(a)[8:],
        "broken-version": b"\x93NUMPY\x04\x00" + npy(a)[8:],
        "broken-preamble": b"\x93NUMPY\x01",
        "broken-no-length": b"\x93NUMPY\x01\x00\x10",
        "broken-truncated-header": npy(a)[:40],
        "broken-truncated-data": npy(a)[:-5],
        "broken-trailing-data": npy(a) + b"\0\0\0\0",
        "broken-big-endian": npy(a.astype(">f4")),
        "broken-1d": npy(np.arange(5, dtype="<f4")),
        "broken-3d": npy(np.zeros((2, 2, 2), "<f4")),
        "broken-0d": npy(np.float32(1.0)),
        "broken-int32": npy(np.arange(6, dtype="<i4").reshape(2, 3)),
        "broken-complex": npy(np.zeros((2, 2), "<c8")),
        "broken-structured": npy(np.zeros((2, 2), dtype=[("x", "<f4"), ("y", "<f8")])),
        "broken-header-lies-more": raw("{'descr': '<f8', 'fortran_order': False, 'shape': (100, 100), }\n",
                                       struct.pack("<4d", 1, 2, 3, 4)),
        "broken-header-lies-less": raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }\n",
                                       struct.pack("<4f", 1, 2, 3, 4)),
        "broken-shape-overflow": raw("{'descr': '<f8', 'fortran_order': False, "
                                     "'shape': (4611686018427387904, 4), }\n"),
        "broken-shape-huge-digit": raw("{'descr': '<f4', 'fortran_order': False, "
                                       "'shape': (99999999999999999999999999, 1), }\n"),
        "broken-shape-negative": raw("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }\n"),
        "broken-missing-key": raw("{'descr': '<f4', 'shape': (1, 1), }\n", b"\0\0\0\0"),
        "broken-extra-key": raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'x': 1}\n",
                                b"\0\0\0\0"),
        "broken-duplicate-key": raw("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, "
                                    "'shape': (1, 1), }\n", b"\0" * 8),
        "broken-fortran-not-bool": raw("{'descr': '<f4', 'fortran_order': 0, 'shape': (1, 1), }\n",
                                       b"\0\0\0\0"),
        "broken-unterminated": raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1"),
        "broken-not-a-dict": raw("[1, 2, 3]\n"),
        "broken-nul-in-header": raw("{'descr': '<f4\0', 'fortran_order': False, 'shape': (1, 1), }\n",
                                    b"\0\0\0\0"),
        "broken-header-longer-than-file": b"\x93NUMPY\x02\x00\xff\xff\xff\x7f{'descr'",
        # Class labels (read_npy_labels) and 1-D float targets (read_npy_matrix_or_vector).
        "labels-valid-i4": npy(np.array([3, 0, -7, 2**31 - 1], "<i4")),
        "labels-valid-i8-column": npy(np.array([[5], [2**40], [-1]], "<i8")),
        "labels-valid-u1": npy(np.array([0, 255, 9], "|u1")),
        "labels-valid-u1-little": raw("{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }\n",
                                      b"\x01\x02"),
        "labels-valid-i8-fortran-column": npy(np.asfortranarray(np.array([[1], [2]], "<i8"))),
        "labels-valid-empty": npy(np.zeros(0, "<i8")),
        "labels-broken-float": npy(np.array([1.0, 2.0], "<f8")),
        "labels-broken-2d": npy(np.zeros((2, 3), "<i4")),
        "labels-broken-0d": npy(np.int64(4)),
        "labels-broken-i2": npy(np.array([1, 2], "<i2")),
        "labels-broken-big-endian": npy(np.array([1, 2], ">i8")),
        "labels-broken-truncated": npy(np.array([1, 2, 3], "<i8"))[:-3],
        "labels-broken-trailing": npy(np.array([1, 2, 3], "<i4")) + b"\0",
        "labels-broken-overflow": raw("{'descr': '<i8', 'fortran_order': False, "
                                      "'shape': (2305843009213693952,), }\n"),
        "vector-valid-f8": npy(np.array([0.5, -np.inf, np.nan], "<f8")),
        "vector-valid-f4": npy(np.array([1.25, 3.0], "<f4")),
        "vector-broken-i4": npy(np.array([1, 2], "<i4")),
        "vector-broken-3d": npy(np.zeros((1, 1, 1), "<f4")),
    }
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    print(f"wrote {len(files)} files to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
