#!/usr/bin/env python3
"""plot.py LOSS_CSV [LOSS_CSV2 ...] OUT.svg — the training loss curve (per step and a moving
average), with the learning rate on a second axis; several CSVs are training phases, drawn one
after the other with a marker where each phase starts. SVG, so the committed file is small text; the hash salt is
fixed so the same CSV gives the same file."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

matplotlib.rcParams["svg.hashsalt"] = "edgellm-default"
matplotlib.rcParams["svg.fonttype"] = "none"


def main():
    srcs, dst = sys.argv[1:-1], sys.argv[-1]
    steps, loss, lr, secs, starts = [], [], [], [], []
    s0, t0 = 0, 0.0
    for src in srcs:
        starts.append(s0)
        with open(src) as f:
            for r in csv.DictReader(f):
                steps.append(s0 + int(r["step"]))
                loss.append(float(r["loss"]))
                lr.append(float(r["lr"]))
                secs.append(t0 + float(r["seconds"]))
        s0, t0 = steps[-1], secs[-1]
    avg, s = [], None
    for v in loss:
        s = v if s is None else 0.9 * s + 0.1 * v
        avg.append(s)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, loss, color="#9ab", linewidth=0.8, label="loss (batch)")
    ax.plot(steps, avg, color="#135", linewidth=1.6, label="moving average")
    ax.set_yscale("log")
    ax.set_xlabel("step (%.0f min of training)" % (secs[-1] / 60 if secs else 0))
    ax.set_ylabel("cross-entropy on assistant tokens (nats)")
    ax.grid(True, which="both", alpha=0.3)
    for i, st in enumerate(starts[1:]):
        ax.axvline(st, color="#888", linestyle="--", linewidth=0.8)
        ax.text(st, max(loss), " phase %d" % (i + 2), va="top", fontsize=8)
    ax2 = ax.twinx()
    ax2.plot(steps, lr, color="#c63", linewidth=0.8, label="learning rate")
    ax2.set_ylabel("learning rate")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper right")
    ax.set_title("edgellm default model (qwen3, %d steps, %d phase%s)" %
                 (steps[-1] if steps else 0, len(srcs), "s" if len(srcs) > 1 else ""))
    fig.tight_layout()
    fig.savefig(dst, metadata={"Date": None})


if __name__ == "__main__":
    main()
