"""PNG plots for docs/benchmarks.md from bench/run.sh results (matplotlib,
installed by run.sh into a venv under its cache).

  plot.py RESULTS IMGDIR  ->  IMGDIR/throughput.png, IMGDIR/latency_cdf.png
"""
import math
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import PAIRS, TARGETS, load, values  # noqa: E402

COLORS = {"kfake": "#999999", "samsa-page-cache": "#1f77b4", "samsa-group-commit": "#17becf",
          "kafka-default": "#d62728", "kafka-flush1": "#ff7f0e"}


def throughput(data, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (stage, title) in zip(axes, [("produce_max", "(a) max produce, 16 partitions, acks=all"),
                                         ("consume", "(c) consume from the start")]):
        names, meds, lo, hi = [], [], [], []
        for t in TARGETS:
            v, _ = values(data, t, stage, "mib_per_s")
            names.append(t)
            if v:
                m = statistics.median(v)
                meds.append(m), lo.append(m - min(v)), hi.append(max(v) - m)
            else:
                meds.append(0), lo.append(0), hi.append(0)
        ax.bar(range(len(names)), meds, yerr=[lo, hi], capsize=4, color=[COLORS[n] for n in names])
        for i, m in enumerate(meds):
            ax.text(i, m, f"{m:.0f}" if m else "failed", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(names)), [n.replace("-", "\n", 1) for n in names], fontsize=8)
        ax.set_ylabel("MiB/s")
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def median_run(data, target, stage):
    runs = [o for o in data.get((target, stage), {"ok": []})["ok"] if o.get("latency", {}).get("cdf")]
    if not runs:
        return None
    runs.sort(key=lambda o: o["latency"]["p99_ms"])
    return runs[len(runs) // 2]["latency"]["cdf"]


def latency(data, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ticks = [0.5, 0.9, 0.99, 0.999, 0.9999]
    tx = lambda q: -math.log10(1 - min(q, 0.99999))  # noqa: E731
    for ax, (stage, title) in zip(axes, [("produce_rate50", "(b) produce latency at 50% of the lower max"),
                                         ("e2e", "(d) end-to-end latency at the same rate")]):
        for a, b in PAIRS:
            for t, style in ((a, "-"), (b, "--")):
                cdf = median_run(data, t, stage)
                if cdf:
                    ax.plot([tx(q) for q, _ in cdf], [v for _, v in cdf], style, color=COLORS[t], label=t)
        ax.set_xticks([tx(q) for q in ticks], ["50%", "90%", "99%", "99.9%", "99.99%"])
        ax.set_xlim(0, tx(0.9999))
        ax.set_yscale("log")
        ax.set_ylabel("ms")
        ax.set_xlabel("percentile")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    res, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    d = load(res)
    throughput(d, os.path.join(out, "throughput.png"))
    latency(d, os.path.join(out, "latency_cdf.png"))
