#!/usr/bin/env python3
"""Writes the seed corpus of the checkpoint fuzzer (tests/fuzz/corpus/checkpoint): state.txt
files as save_checkpoint writes them, and broken ones, one per way a state can be wrong
(issue 10, item 7). The corpus is committed; rerun this only to change it."""
import pathlib

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "checkpoint"

BASE = [
    ("format", "nobias-checkpoint-2"), ("dtype", "f32"), ("layers", "2"), ("epochs_done", "3"),
    ("seed", "42"), ("batch_size", "7"), ("shuffle", "1"), ("reduction", "mean"),
    ("optimizer", "adam"), ("optimizer_steps", "15"), ("learning_rate", "0.001"),
    ("momentum", "0.90000000000000002"), ("nesterov", "0"), ("beta1", "0.90000000000000002"),
    ("beta2", "0.999"), ("epsilon", "1e-08"), ("weight_decay", "0.0001"),
]
DATA = [("data.rows", "30"), ("data.x_cols", "11"), ("data.y_cols", "3"), ("data.dtype", "f32"),
        ("data.x_hash", "0123456789abcdef"), ("data.y_hash", "fedcba9876543210"),
        ("data.source", "generated rows=30 seed=3")]
# validation.rows alone (0) records a run without validation rows.
VALIDATION = [("validation.rows", "23"), ("validation.x_cols", "11"), ("validation.y_cols", "3"),
              ("validation.dtype", "f32"), ("validation.x_hash", "00112233445566ff"),
              ("validation.y_hash", "ffeeddccbbaa9988")]


def sums(kind, layers):
    stems = {"sgd": ["w"], "momentum": ["w", "first"], "adam": ["w", "first", "second"]}[kind]
    return [("checksum.%s%d.npy" % (s, k), "%016x" % (0x9e3779b97f4a7c15 * k % 2**64))
            for s in stems for k in range(1, layers + 1)]


def state(changes=None, kind="adam", layers=2, data=False, drop=(), extra=(), validation=False):
    changes = dict(changes or {})
    data_changes = {k: changes.pop(k) for k in list(changes)
                    if k.startswith("data.") or k.startswith("validation.")}
    fields = dict(BASE, optimizer=kind, layers=str(layers))
    fields.update(changes)
    lines = [(k, v) for k, v in fields.items() if k not in drop]
    lines += [s for s in sums(kind, layers) if s[0] not in drop]
    if data:
        lines += [(k, data_changes.get(k, v)) for k, v in DATA if k not in drop]
    if validation:
        lines += [(k, data_changes.get(k, v)) for k, v in VALIDATION if k not in drop]
    lines += list(extra)
    return "".join("%s=%s\n" % kv for kv in lines).encode("latin1")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    files = {
        "valid-adam": state(),
        "valid-sgd": state(kind="sgd", layers=1),
        "valid-momentum-nesterov": state({"nesterov": "1"}, kind="momentum", layers=3),
        "valid-with-data": state(data=True),
        "valid-steps-0": state({"optimizer_steps": "0"}),
        "valid-steps-2-to-the-53": state({"optimizer_steps": str(2**53)}),
        "valid-tiny-epsilon": state({"epsilon": "4.9406564584124654e-324"}),
        "valid-empty-source": state(data=True, changes={"data.source": ""}),
        "valid-with-validation": state(data=True, validation=True),
        "valid-without-validation-rows": state(data=True, extra=[("validation.rows", "0")]),
        "valid-reordered": b"".join(sorted(state().splitlines(keepends=True))),
        # Issue 10, item 7, and every field's domain.
        "broken-steps-wrap": state({"optimizer_steps": "18446744073709551615"}),
        "broken-steps-past-2-to-the-53": state({"optimizer_steps": str(2**53 + 1)}),
        "broken-steps-overflow": state({"optimizer_steps": "18446744073709551616"}),
        "broken-beta1-one": state({"beta1": "1"}),
        "broken-beta2-negative": state({"beta2": "-5"}),
        "broken-epsilon-nan": state({"epsilon": "nan"}),
        "broken-epsilon-zero": state({"epsilon": "0"}),
        "broken-epsilon-inf": state({"epsilon": "inf"}),
        "broken-lr-huge": state({"learning_rate": "1e999"}),
        "broken-lr-negative": state({"learning_rate": "-0.1"}),
        "broken-lr-hex": state({"learning_rate": "0x1p-3"}),
        "broken-lr-space": state({"learning_rate": " 0.1"}),
        "broken-decay-negative": state({"weight_decay": "-1e-4"}),
        "broken-momentum-one": state({"momentum": "1"}, kind="momentum"),
        "broken-shuffle-2": state({"shuffle": "2"}),
        "broken-nesterov-yes": state({"nesterov": "yes"}),
        "broken-unknown-key": state(extra=[("colour", "blue")]),
        "broken-duplicate-key": state(extra=[("beta1", "0.5")]),
        "broken-missing-key": state(drop=("epsilon",)),
        "broken-missing-checksum": state(drop=("checksum.second2.npy",)),
        "broken-extra-checksum": state(extra=[("checksum.w3.npy", "0000000000000000")]),
        "broken-checksum-uppercase": state({}, extra=[]).replace(b"=9e3779b97f4a7c15", b"=9E3779B97F4A7C15"),
        "broken-partial-data": state(data=True, drop=("data.y_hash",)),
        "broken-data-without-rows": state(data=True, drop=("data.rows",)),
        "broken-partial-validation": state(validation=True, drop=("validation.x_hash",)),
        "broken-validation-without-rows": state(validation=True, drop=("validation.rows",)),
        "broken-validation-none-with-fields": state(
            validation=True, changes={"validation.rows": "0"}),
        "broken-validation-dtype": state(validation=True, changes={"validation.dtype": "f16"}),
        "broken-source-escape": state(data=True, changes={"data.source": "\x1b]0;pwned\x07"}),
        "broken-layers-0": state(layers=0),
        "broken-layers-huge": state({"layers": "99999999999"}),
        "broken-format-1": state({"format": "nobias-checkpoint-1"}),
        "broken-dtype": state({"dtype": "f16"}),
        "broken-reduction": state({"reduction": "median"}),
        "broken-kind": state({"optimizer": "rmsprop"}),
        "broken-no-final-newline": state()[:-1],
        "broken-crlf": state().replace(b"\n", b"\r\n"),
        "broken-line-without-equals": state() + b"garbage\n",
        "broken-empty-line": state() + b"\n",
        "broken-empty": b"",
        "broken-count-sign": state({"seed": "+3"}),
        "broken-binary": state({"dtype": "\xff\xfe"}),
    }
    for name, data in files.items():
        (OUT / name).write_bytes(data)


if __name__ == "__main__":
    main()
