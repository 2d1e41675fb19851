#!/usr/bin/python3
"""Draw the training and validation curves of a nobias-train --history CSV.

    plot_history.py HISTORY.csv OUT.png

Left: train_loss and val_loss by epoch (log scale). Right: the validation metrics the file
has (val_accuracy for a classifier, else val_r2). Needs matplotlib (python3-matplotlib).
"""
import csv
import sys


def read_history(path):
    # A .tsv history is tab-separated, as nobias-train writes it.
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    with open(path, newline="", encoding="ascii") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    if not rows or "epoch" not in rows[0] or "train_loss" not in rows[0]:
        sys.exit("plot_history.py: %s is not a nobias-train --history file" % path)
    return {key: [float(r[key]) for r in rows] for key in rows[0]}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_history.py HISTORY.csv OUT.png")
    history = read_history(sys.argv[1])
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = history["epoch"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history["train_loss"], label="train_loss")
    if "val_loss" in history:
        left.plot(epochs, history["val_loss"], label="val_loss")
    left.set_yscale("log")
    left.set_xlabel("epoch")
    left.set_title("loss")
    left.legend()
    metric = "val_accuracy" if "val_accuracy" in history else "val_r2"
    if metric in history:
        right.plot(epochs, history[metric], color="tab:green")
        right.set_title(metric)
        right.set_xlabel("epoch")
    else:
        right.set_axis_off()
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=100)
    print("plot_history.py: wrote %s" % sys.argv[2])


if __name__ == "__main__":
    main()
