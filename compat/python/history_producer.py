"""A producer for `samsa chaos --client`: librdkafka (confluent-kafka-python),
idempotent with acks=all, sends values "rdkafka-NNNNNNNNN" to the campaign's
topic at about 1,000 records a second until STOP-FILE exists, and writes one
history "produce" event per record (docs/history-checker.md) to HISTORY. A
record whose delivery failed is recorded with outcome "unknown": it may
still have been written.

  history_producer.py BOOTSTRAP TOPIC HISTORY STOP-FILE
"""

import json
import os
import sys
import time

from confluent_kafka import Producer


def main(argv):
    if len(argv) != 5:
        print("usage: history_producer.py BOOTSTRAP TOPIC HISTORY STOP-FILE", file=sys.stderr)
        return 2
    bootstrap, topic, history, stop = argv[1:]
    p = Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "delivery.timeout.ms": 120000,
        "linger.ms": 5,
    })
    partitions = len(p.list_topics(topic, timeout=30).topics[topic].partitions)
    out = open(history, "w")

    def report(seq, value, partition, start):
        def cb(err, msg):
            ev = {"type": "produce", "client": "rdkafka", "producer": "rdkafka", "idempotent": True,
                  "topic": topic, "partition": partition, "value": value, "seq": seq,
                  "start": start, "end": time.time_ns()}
            if err is None:
                ev["outcome"], ev["offset"] = "ok", msg.offset()
            else:
                ev["outcome"], ev["offset"], ev["error"] = "unknown", -1, str(err)
            out.write(json.dumps(ev) + "\n")
        return cb

    began = time.monotonic()
    seq = 0
    while not os.path.exists(stop):
        seq += 1
        value = f"rdkafka-{seq:09d}"
        partition = seq % partitions  # chosen here, so a failed send has one to record
        while True:
            try:
                p.produce(topic, value=value, partition=partition,
                          on_delivery=report(seq, value, partition, time.time_ns()))
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        wait = began + seq / 1000 - time.monotonic()  # one record a millisecond
        if wait > 0:
            time.sleep(wait)
    left = p.flush(150)
    out.close()
    print(f"rdkafka: {seq} records sent, {left} left unanswered")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
