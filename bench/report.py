"""Aggregates bench/run.sh results into docs/benchmarks.md and README's
Performance section. Standard library only.

  report.py rate RESULTS TARGET PCT        records/s for a fixed-rate run
  report.py markdown RESULTS META IMGDIR   the whole page, on stdout
  report.py readme RESULTS META README     rewrites README's "## Performance"

RESULTS holds one file per (round, target, stage): ROUND.TARGET.STAGE.json
when the stage succeeded, ROUND.TARGET.STAGE.err when it failed.
"""
import glob
import json
import os
import re
import statistics
import sys
import textwrap

TARGETS = ["kfake", "samsa-page-cache", "samsa-group-commit", "kafka-default", "kafka-flush1"]
# Samsa/Kafka pairs with the same durability: acknowledged in the page cache,
# and acknowledged after an fsync.
PAIRS = [("samsa-page-cache", "kafka-default"), ("samsa-group-commit", "kafka-flush1")]
PAIR_OF = {"kfake": PAIRS[0], "samsa-page-cache": PAIRS[0], "kafka-default": PAIRS[0],
           "samsa-group-commit": PAIRS[1], "kafka-flush1": PAIRS[1]}
RECORD = 1024


def load(res):
    """{(target, stage): {"ok": [json...], "err": [text...]}}"""
    out = {}
    for path in sorted(glob.glob(os.path.join(res, "*.*"))):
        base = os.path.basename(path)
        m = re.match(r"(\d+)\.([\w-]+)\.(\w+)\.(json|err|cpu)$", base)
        if not m:
            continue
        _, target, stage, kind = m.groups()
        if kind == "cpu":  # the broker's CPU time during the stage, from /proc
            stage, kind = stage + "_cpu", "json"
        e = out.setdefault((target, stage), {"ok": [], "err": []})
        with open(path) as f:
            if kind == "json":
                e["ok"].append(json.load(f))
            else:
                e["err"].append(" ".join(f.read().split())[:300])
    return out


def dig(obj, path):
    for k in path.split("."):
        obj = obj[k]
    return obj


def values(data, target, stage, path):
    e = data.get((target, stage))
    if not e:
        return [], []
    vals = []
    for o in e["ok"]:
        try:
            vals.append(float(dig(o, path)))
        except (KeyError, TypeError):
            pass
    return vals, e["err"]


def median(data, target, stage, path):
    v, _ = values(data, target, stage, path)
    return statistics.median(v) if v else None


def rate(res, target, pct):
    data = load(res)
    maxes = [m for m in (median(data, t, "produce_max", "mib_per_s") for t in PAIR_OF[target]) if m]
    if not maxes:
        return 1000.0
    return round(min(maxes) * (1 << 20) / RECORD * pct / 100.0)


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def cell(data, target, stage, path):
    v, errs = values(data, target, stage, path)
    if not v and not errs:
        return "-"
    if not v:
        return f"**FAILED** ({len(errs)}/{len(errs)} runs)"
    s = fmt(statistics.median(v))
    if len(v) > 1:
        s += f" [{fmt(min(v))}-{fmt(max(v))}]"
    if errs:
        s += f" **{len(errs)} FAILED**"
    return s


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


# Rows of the main table: (label, stage, JSON path, higher is better).
ROWS = [
    ("(a) max produce, MiB/s", "produce_max", "mib_per_s", True),
    ("(a) max produce, p99 ms (queueing)", "produce_max", "latency.p99_ms", False),
    *[(f"(b) produce @ {p}% rate: achieved rec/s", f"produce_rate{p}", "rec_per_s", True) for p in (10, 50, 80)],
    *[(f"(b) produce @ {p}% rate: {q} ms", f"produce_rate{p}", f"latency.{k}", False)
      for p in (10, 50, 80) for q, k in (("p50", "p50_ms"), ("p99", "p99_ms"), ("p99.9", "p999_ms"))],
    ("(a) broker CPU during max produce, cores busy", "produce_max_cpu", "broker_cores", False),
    ("(a) client CPU during max produce, cores busy", "produce_max", "client_cores", False),
    ("(c) consume from start, MiB/s", "consume", "mib_per_s", True),
    ("(c) broker CPU during consume, cores busy", "consume_cpu", "broker_cores", False),
    ("(c) client CPU during consume, cores busy", "consume", "client_cores", False),
    ("(d) end-to-end @ 50% rate: p50 ms", "e2e", "latency.p50_ms", False),
    ("(d) end-to-end @ 50% rate: p99 ms", "e2e", "latency.p99_ms", False),
    ("(d) end-to-end @ 50% rate: p99.9 ms", "e2e", "latency.p999_ms", False),
    ("(e) RSS idle, MiB", "rss_idle", "rss_mib", False),
    ("(e) RSS peak under load, MiB", "rss_load", "rss_mib", False),
    ("(f) start to first produce, empty dir, ms", "start_empty", "first_produce_ms", False),
    ("(f) start to first produce after kill -9, ms", "start_recover", "first_produce_ms", False),
    ("(f) start to port open after kill -9, ms", "start_recover", "port_open_ms", False),
]
TOOL_ROWS = [
    ("ProducerPerformance MiB/s", "perf_producer", "mib_per_s", True),
    ("ProducerPerformance p99 ms", "perf_producer", "p99_ms", False),
    ("ConsumerPerformance MiB/s", "perf_consumer", "mib_per_s", True),
]
CEILINGS = [
    ("fsync after every 1 MiB write, MiB/s", "fsync_mib_s"),
    ("page-cache write, 1 MiB writes, MiB/s", "pcwrite_mib_s"),
    ("page-cache read, 1 MiB reads, MiB/s", "pcread_mib_s"),
    ("loopback TCP, one stream, MiB/s", "tcp_mib_s"),
]


def table(data, rows, targets):
    out = ["| metric | " + " | ".join(targets) + " | samsa-page-cache / kafka-default | samsa-group-commit / kafka-flush1 |",
           "|---|" + "---|" * (len(targets) + 2)]
    for label, stage, path, _ in rows:
        cells = [cell(data, t, stage, path) for t in targets]
        if all(c == "-" for c in cells):  # not measured by the run that made these results
            continue
        rs = [fmt_ratio(ratio(median(data, a, stage, path), median(data, b, stage, path))) for a, b in PAIRS]
        out.append(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(rs) + " |")
    return out


def goals(data, ceil):
    m = lambda t, s, p: median(data, t, s, p)  # noqa: E731
    rows = []

    def goal(name, r, want, at_least):
        ok = None if r is None else (r >= want if at_least else r <= want)
        verdict = "no data" if ok is None else ("met" if ok else "**not met**")
        rows.append(f"| {name} | {'>=' if at_least else '<='} {want:g} | {fmt_ratio(r)} | {verdict} |")

    for a, b in PAIRS:
        goal(f"produce throughput, {a} / {b}", ratio(m(a, "produce_max", "mib_per_s"), m(b, "produce_max", "mib_per_s")), 1.5, True)
    goal("durable produce (samsa-group-commit) / fsync-every-1-MiB ceiling",
         ratio(m("samsa-group-commit", "produce_max", "mib_per_s"), ceil.get("fsync_mib_s")), 0.85, True)
    for a, b in PAIRS:
        goal(f"consume throughput, {a} / {b}", ratio(m(a, "consume", "mib_per_s"), m(b, "consume", "mib_per_s")), 2, True)
    for a, b in PAIRS:
        goal(f"p99 produce latency at 50% load, {a} / {b}",
             ratio(m(a, "produce_rate50", "latency.p99_ms"), m(b, "produce_rate50", "latency.p99_ms")), 0.5, False)
    for a, b in PAIRS:
        goal(f"RSS under load, {a} / {b}", ratio(m(a, "rss_load", "rss_mib"), m(b, "rss_load", "rss_mib")), 0.1, False)
    for a, b in PAIRS:
        goal(f"start to first produce (empty), {a} / {b}",
             ratio(m(a, "start_empty", "first_produce_ms"), m(b, "start_empty", "first_produce_ms")), 0.05, False)
        goal(f"start to first produce (after kill -9), {a} / {b}",
             ratio(m(a, "start_recover", "first_produce_ms"), m(b, "start_recover", "first_produce_ms")), 0.05, False)
    return rows


def ceiling_medians(data):
    out = {}
    for _, k in CEILINGS:
        v = median(data, "machine", "ceilings", k)
        if v:
            out[k] = v
    return out


def failures(data):
    out = []
    for (t, s), e in sorted(data.items()):
        for err in e["err"]:
            out.append(f"- `{t}` `{s}`: {err}")
    return out


def markdown(res, meta_path, imgdir):
    data = load(res)
    meta = json.load(open(meta_path))
    ceil = ceiling_medians(data)
    n = meta["rounds"]
    rates = {t: [o.get("target_rate") for o in data.get((t, "produce_rate50"), {"ok": []})["ok"]] for t in TARGETS}
    label = {"full": "full run", "quick": "QUICK run (small sizes; not the full benchmark)",
             "smoke": "SMOKE run (tiny sizes, 1 round: checks the harness, the figures mean nothing)"}[meta["mode"]]
    L = [
        "# Benchmarks: Samsa, Apache Kafka and kfake side by side",
        "",
        f"**{label}**, generated by `{meta['command'].strip()}` from {meta['started']} to {meta['finished']}.",
        "Do not edit by hand: run the command again. Raw results and broker logs were kept in "
        f"`{meta['run_dir']}` on the machine that ran it.",
        "",
        "## Machine, versions and settings",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {meta['cpu']}, {meta['cores']} cores (client and broker share them) |",
        f"| memory, kernel | {meta['mem_gib']} GiB, Linux {meta['kernel']} |",
        f"| data disk | `{meta['disk']}` (all targets, one after the other; the order rotates by one each round) |",
        (f"| between targets | after a target stops (or is killed) and its data is deleted, {meta['settle_per_gib']} s of quiet per GiB "
         f"of memory that came free, at most {meta['settle_max_secs']} s: freed memory is reported to the VM's host, whose work "
         "stalls the guest's CPUs; see docs/performance.md |" if "settle_per_gib" in meta else "| between targets | no pause |"),
        f"| load average (1/5/15 min) | {meta['load_start']} at start, {meta['load_end']} at end; other work may share the machine |",
        f"| Samsa | commit {meta['samsa_commit']}, {meta['go']}; `samsa serve {meta.get('samsa_flags', '')}` "
        "(Kafka's properties set the same initial rebalance delay, as its shipped server.properties does) |",
        f"| Apache Kafka | {meta['kafka_version']} (Maven Central jars), {meta['java']}; single combined broker+controller (KRaft), "
        f"`{meta['kafka_heap']}` (kafka-server-start.sh's heap) and its JVM options `{meta['kafka_jvm']}` |",
        f"| kfake | franz-go `pkg/kfake` {meta['kfake']}: in memory, never syncs; protocol-speed reference |",
        f"| client | franz-go {meta['franz_go']} (`bench/load`), the same for every target: acks=all, idempotent, linger 5 ms, "
        "1 MiB batches, no compression, 1 KiB random printable values, no keys; consumers use direct partition assignment |",
        f"| topics | {meta['partitions']} partitions, replication factor 1; big topic {meta['big_mib']} MiB; "
        f"warmup {meta['warm_mib']} MiB before (a) |",
        f"| fixed-rate runs | {meta['lat_secs']} s measured after {meta['warm_secs']} s warmup; rates are 10/50/80% of the lower "
        "(a) median of each Samsa/Kafka pair (kfake uses the page-cache pair's) |",
        f"| rounds | {n}; every cell is the median [min-max] of the rounds |",
        "",
        "Durability: `samsa-page-cache` and `kafka-default` acknowledge acks=all once the batch is in the page cache "
        "(survives kill -9, not power loss); `samsa-group-commit` acknowledges after an fsync covering the batch, "
        "`kafka-flush1` (`log.flush.interval.messages=1`) fsyncs after every append before acknowledging. "
        "Ratios compare the pairs with the same durability.",
        "",
    ]
    rate_line = ", ".join(f"{t} {fmt(statistics.median([r for r in v if r]))} rec/s" for t, v in rates.items() if [r for r in v if r])
    if rate_line:
        L += [f"50% rates used: {rate_line}.", ""]
    L += ["## Results", ""] + table(data, ROWS, TARGETS) + [""]
    L += ["## Goals of issue 5 (ratios of medians from this run)", "", "| goal | target | measured | |", "|---|---|---|---|"]
    L += goals(data, ceil) + ["", "What limits the goals not met, and what profiling found and changed: "
                              "[performance.md](performance.md) (written by hand, not by this command).", ""]
    L += ["## Machine ceilings, measured in this run (`bench/ceilings`)", "",
          f"Each is one pass over {meta['ceil_mib']} MiB in the data directory at the start of every round.", "",
          "| ceiling | median [range] |", "|---|---|"]
    L += [f"| {lbl} | {cell(data, 'machine', 'ceilings', k)} |" for lbl, k in CEILINGS] + [""]
    sm = lambda t, s, p: median(data, t, s, p)  # noqa: E731
    frac = [
        ("samsa-group-commit max produce / fsync ceiling", sm("samsa-group-commit", "produce_max", "mib_per_s"), ceil.get("fsync_mib_s")),
        ("samsa-page-cache max produce / page-cache write ceiling", sm("samsa-page-cache", "produce_max", "mib_per_s"), ceil.get("pcwrite_mib_s")),
        ("samsa-page-cache max produce / loopback TCP ceiling", sm("samsa-page-cache", "produce_max", "mib_per_s"), ceil.get("tcp_mib_s")),
        ("samsa-page-cache consume / min(page-cache read, loopback TCP)", sm("samsa-page-cache", "consume", "mib_per_s"),
         min([ceil[k] for k in ("pcread_mib_s", "tcp_mib_s") if k in ceil] or [0])),
        ("samsa-group-commit consume / min(page-cache read, loopback TCP)", sm("samsa-group-commit", "consume", "mib_per_s"),
         min([ceil[k] for k in ("pcread_mib_s", "tcp_mib_s") if k in ceil] or [0])),
    ]
    L += ["| Samsa figure as a fraction of its ceiling | Samsa MiB/s | ceiling MiB/s | fraction |", "|---|---|---|---|"]
    L += [f"| {n_} | {fmt(a)} | {fmt(b)} | {'-' if not (a and b) else f'{a / b:.0%}'} |" for n_, a, b in frac] + [""]
    L += ["## Kafka's own perf tools against Samsa and Kafka", "",
          f"`kafka-producer-perf-test` (ProducerPerformance: {meta['perf_records']} records of 1 KiB, acks=all, idempotent, "
          "linger.ms=5, batch.size=1 MiB, to a 16-partition topic) and `kafka-consumer-perf-test` (ConsumerPerformance: "
          "the big topic through a consumer group), each in its own JVM with -Xmx512M. Run after the restart in (f). "
          "A failure is shown as FAILED with its reason below.", ""]
    L += table(data, TOOL_ROWS, TARGETS[1:]) + [""]
    imgs = [("throughput.png", "Throughput, median with min-max range"),
            ("latency_cdf.png", "Latency distributions at the 50% rate (median round), Samsa vs Kafka")]
    present = [(f, t) for f, t in imgs if os.path.exists(os.path.join(imgdir, f))]
    if present:
        L += ["## Plots", ""] + [f"![{t}](img/{f})" for f, t in present] + [""]
    else:
        L += ["## Plots", "", "**Plots were not generated** (matplotlib unavailable or the plot step failed).", ""]
    L += ["## How each figure is measured", "",
          "- (a) `load produce`: flat out until the big topic holds its size; MiB/s from the first Produce call to the last "
          "acknowledgement (MiB = 2^20 bytes of record values). The p99 row is queueing under overload, not a latency target.",
          "- (b) `load produce --rate`: paced like Kafka's ThroughputThrottler; latency is each record's Produce call to its "
          "acknowledgement, every record kept (no histogram buckets).",
          "- (c) `load consume`: a fresh client reads all partitions of the big topic from offset 0 until it has every record "
          "that was there at start; MiB/s over that time. The topic was just written, so it is in the page cache.",
          "- (d) `load e2e`: a producer at the 50% rate and a consumer (direct assignment, started first) in one process, on a new topic; each value "
          "carries its send time in Unix ns; latency is Produce call to the record leaving PollFetches; records sent during the warmup are not counted.",
          "- (e) VmRSS of the broker process after start, one produce and an idle pause; VmHWM (peak) after (a). For Kafka the "
          "process is the JVM.",
          "- (f) `load first`: from just before exec of the broker to the first acks=all produce acknowledged (fresh client per "
          "attempt, 5 ms between attempts, topic auto-created on the empty dir). Kafka's data dir is formatted beforehand "
          f"(`kafka-storage format`, {meta['kafka_format_ms']} ms, not counted). After kill -9 it produces to the big topic. "
          "kfake keeps nothing across a restart. Kafka after kill -9: its controller still holds the previous broker "
          "registration and rejects the new one (DuplicateBrokerRegistrationException in its log) until "
          "`broker.session.timeout.ms` (9 s by default, left as is) expires, then recovers the unflushed logs; so its "
          "port opens about 12 s after start.",
          ""]
    fl = failures(data)
    L += ["## Failures in this run", ""] + (fl or ["None."]) + [""]
    L += ["## Other benchmarks", "",
          "- Transactions (transactional vs idempotent produce, read_committed vs read_uncommitted consume, Samsa "
          "and Kafka with Kafka's perf tools): [benchmarks-transactions.md](benchmarks-transactions.md), "
          "written by `bench/txn.sh --out docs/benchmarks-transactions.md`.", ""]
    return "\n".join(L)


def readme(res, meta_path, path):
    data = load(res)
    meta = json.load(open(meta_path))
    m = lambda t, s, p: median(data, t, s, p)  # noqa: E731
    rows = [("max produce MiB/s", "produce_max", "mib_per_s"), ("consume MiB/s", "consume", "mib_per_s"),
            ("p99 produce latency at 50% load, ms", "produce_rate50", "latency.p99_ms"),
            ("p99 end-to-end latency, ms", "e2e", "latency.p99_ms"),
            ("RSS under load, MiB", "rss_load", "rss_mib"),
            ("start to first produce after kill -9, ms", "start_recover", "first_produce_ms")]
    kind = {"full": "", "quick": " (quick mode: small sizes)", "smoke": " (smoke mode: not meaningful)"}[meta["mode"]]
    sec = ["## Performance", "",
           f"Same machine ({meta['cores']} cores, client and broker sharing them), same franz-go client, one after the other, "
           f"{meta['started'][:10]}{kind}; medians of {meta['rounds']} runs. Page cache: acknowledged when in the page cache "
           "(Kafka's default); fsync: acknowledged after an fsync (Samsa group commit vs Kafka `flush.messages=1`).", "",
           "| | Samsa page cache | Kafka default | ratio | Samsa fsync | Kafka fsync | ratio |", "|---|---|---|---|---|---|---|"]
    for lbl, s, p in rows:
        c = []
        for a, b in PAIRS:
            va, vb = m(a, s, p), m(b, s, p)
            c += [fmt(va), fmt(vb), fmt_ratio(ratio(va, vb))]
        sec.append(f"| {lbl} | " + " | ".join(c) + " |")
    sec += ["", "Every figure with its range, the machine's ceilings, kfake and Kafka's own perf tools: "
            "[docs/benchmarks.md](docs/benchmarks.md), regenerated by `bench/run.sh`. "
            "`samsa bench produce|consume` reports what `kafka-producer-perf-test` and `kafka-consumer-perf-test` report. "
            "Where Samsa misses a goal, what limits it and what was measured: [docs/performance.md](docs/performance.md).", ""]
    sec = [textwrap.fill(x, 100, break_on_hyphens=False, break_long_words=False) if x and not x.startswith("|") else x
           for x in sec]
    text = open(path).read()
    new, n = re.subn(r"^## Performance\n.*?(?=^## )", "\n".join(sec) + "\n", text, count=1, flags=re.S | re.M)
    if n != 1:
        sys.exit("README.md has no '## Performance' section followed by another section")
    open(path, "w").write(new)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "rate":
        print(rate(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    elif cmd == "markdown":
        print(markdown(sys.argv[2], sys.argv[3], sys.argv[4]))
    elif cmd == "readme":
        readme(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {cmd}")
