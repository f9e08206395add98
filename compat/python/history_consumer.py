"""A consumer for `samsa chaos --client`: librdkafka (confluent-kafka-python)
in consumer group "chaos-rdkafka", reading the campaign's topic from the
earliest offset until STOP-FILE exists, and writing one history "consume"
event per record, with "assign" and "revoke" events for its partitions
(docs/history-checker.md), to HISTORY. Each assignment of a partition
starts a new session: offsets need rise only within one.

  history_consumer.py BOOTSTRAP TOPIC HISTORY STOP-FILE
"""

import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError

GROUP = "chaos-rdkafka"
MEMBER = "rdkafka-consumer"


def main(argv):
    if len(argv) != 5:
        print("usage: history_consumer.py BOOTSTRAP TOPIC HISTORY STOP-FILE", file=sys.stderr)
        return 2
    bootstrap, topic, history, stop = argv[1:]
    out = open(history, "w")
    session = [0]
    sessions = {}

    def event(ev):
        out.write(json.dumps(ev) + "\n")

    def on_assign(consumer, parts):
        session[0] += 1
        for p in parts:
            sessions[p.partition] = session[0]
            event({"type": "assign", "group": GROUP, "member": MEMBER, "topic": p.topic,
                   "partition": p.partition, "time": time.time_ns()})

    def on_revoke(consumer, parts):
        for p in parts:
            sessions.pop(p.partition, None)
            event({"type": "revoke", "group": GROUP, "member": MEMBER, "topic": p.topic,
                   "partition": p.partition, "time": time.time_ns()})

    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": GROUP,
        "client.id": MEMBER,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 1000,
    })
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    read = 0
    while not os.path.exists(stop):
        msg = c.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() != KafkaError._PARTITION_EOF:
                print(f"rdkafka consumer: {msg.error()}", file=sys.stderr)
            continue
        value = msg.value().decode() if msg.value() is not None else ""
        ev = {"type": "consume", "consumer": MEMBER, "group": GROUP, "topic": msg.topic(),
              "partition": msg.partition(), "offset": msg.offset(), "value": value,
              "time": time.time_ns(), "session": sessions.get(msg.partition(), 0)}
        if msg.key() is not None:
            ev["key"] = msg.key().decode()
        event(ev)
        read += 1
    c.close()
    out.close()
    print(f"rdkafka consumer: {read} records read")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
