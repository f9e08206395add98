"""Turns the last line of Kafka's ProducerPerformance or ConsumerPerformance
output (stdin) into one JSON object (stdout); exits 1 if the line is not a
complete result, so bench/run.sh reports the stage as failed.

  ProducerPerformance: "N records sent, X records/sec (Y MB/sec), A ms avg latency,
      M ms max latency, P ms 50th, P ms 95th, P ms 99th, P ms 99.9th."
  ConsumerPerformance (--hide-header): "start, end, MB, MB.sec, nMsg, nMsg.sec,
      rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
Kafka's "MB" is 2^20 bytes.
"""
import json
import re
import sys

line = sys.stdin.read().strip()
kind = sys.argv[1]
if kind == "producer":
    m = re.match(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                 r"([\d.]+) ms max latency, ([\d.]+) ms 50th, ([\d.]+) ms 95th, ([\d.]+) ms 99th, ([\d.]+) ms 99.9th", line)
    if not m:
        sys.exit(f"not a ProducerPerformance result: {line!r}")
    v = [float(x) for x in m.groups()]
    print(json.dumps({"records": int(v[0]), "rec_per_s": v[1], "mib_per_s": v[2], "avg_ms": v[3], "max_ms": v[4],
                      "p50_ms": v[5], "p95_ms": v[6], "p99_ms": v[7], "p999_ms": v[8]}))
else:
    want = int(sys.argv[2])
    f = [x.strip() for x in line.split(",")]
    try:
        mb, mbs, n, ns, reb, fetch_ms, fmbs = float(f[2]), float(f[3]), int(f[4]), float(f[5]), float(f[6]), float(f[7]), float(f[8])
    except (IndexError, ValueError):
        sys.exit(f"not a ConsumerPerformance result: {line!r}")
    if n < want:
        sys.exit(f"ConsumerPerformance read {n} of {want} records")
    print(json.dumps({"records": n, "mib": mb, "mib_per_s": mbs, "rec_per_s": ns, "rebalance_ms": reb,
                      "fetch_ms": fetch_ms, "fetch_mib_per_s": fmbs}))
