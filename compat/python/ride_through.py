"""The cluster phase's leader-kill ride-through with librdkafka
(confluent-kafka-python), the counterpart of RideThrough.java.

  ride_through.py BOOTSTRAP produce TOPIC N ACKED-FILE MARKER-FILE
    An idempotent producer (acks=all) sends N keyed records at a steady
    pace; once a quarter are acknowledged it creates MARKER-FILE (the
    scenario then kills a leader) and goes on. Every acknowledged record is
    written to ACKED-FILE as "partition offset value". Exits 1 if any
    delivery failed: with a two-minute delivery timeout, a failover of a
    few seconds must fail none.
  ride_through.py BOOTSTRAP verify TOPIC ACKED-FILE
    A consumer (assign, no commits) reads every partition from the start to
    its end and checks each acknowledged record is at its acknowledged
    offset and that no value appears twice.
"""

import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition


def produce(bootstrap, topic, n, acked_path, marker_path):
    p = Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "delivery.timeout.ms": 120000,
        "linger.ms": 5,
    })
    acked, failed = [], []

    def report(err, msg):
        if err is not None:
            failed.append(f"{msg.value().decode()}: {err}")
        else:
            acked.append((msg.partition(), msg.offset(), msg.value().decode()))

    marked = False
    for i in range(n):
        while True:
            try:
                p.produce(topic, key=f"k{i % 97}", value=f"v{i:06d}", on_delivery=report)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        if i % 100 == 99:
            time.sleep(0.01)  # a steady pace, about 10,000 records a second at most
        if not marked and len(acked) >= n // 4:
            open(marker_path, "w").write(str(len(acked)))
            marked = True
    left = p.flush(150)
    if not marked:
        open(marker_path, "w").write(str(len(acked)))
    with open(acked_path, "w") as f:
        for part, off, val in acked:
            f.write(f"{part} {off} {val}\n")
    if failed or left:
        print(f"FAIL: {len(failed)} deliveries failed, {left} left unsent; first: {failed[:3]}")
        return 1
    if len(acked) != n:
        print(f"FAIL: {len(acked)} of {n} acknowledged")
        return 1
    print(f"{n} records acknowledged")
    return 0


def verify(bootstrap, topic, acked_path):
    want = {}
    for line in open(acked_path):
        part, off, val = line.split()
        want[(int(part), int(off))] = val
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "ride-through-verify",  # required by librdkafka; never used
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    })
    parts = sorted({p for p, _ in want})
    meta = c.list_topics(topic, timeout=30).topics[topic]
    all_parts = sorted(meta.partitions)
    ends = {}
    for p in all_parts:
        # librdkafka's get_watermark_offsets does not retry: a leadership
        # moving back to the restarted node (the preferred leader) answers
        # NOT_LEADER_OR_FOLLOWER until its metadata is refreshed, as with
        # Kafka. Retried here as a client's own fetch path would.
        for attempt in range(20):
            try:
                _, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
                break
            except KafkaException as e:
                moved = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)
                if attempt == 19 or e.args[0].code() not in moved:
                    raise
                time.sleep(0.5)
        ends[p] = hi
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in all_parts])
    seen, values, done = {}, {}, set()
    deadline = time.time() + 120
    while len(done) < len(all_parts) and time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                if ends[m.partition()] == 0 or m.offset() >= ends[m.partition()]:
                    done.add(m.partition())
                continue
            print(f"FAIL: consume error {m.error()}")
            return 1
        val = m.value().decode()
        if val in values:
            print(f"FAIL: {val} twice, at {values[val]} and {(m.partition(), m.offset())}")
            return 1
        values[val] = (m.partition(), m.offset())
        seen[(m.partition(), m.offset())] = val
        if m.offset() + 1 >= ends[m.partition()]:
            done.add(m.partition())
    c.close()
    missing = [(k, v) for k, v in want.items() if seen.get(k) != v]
    if missing:
        print(f"FAIL: {len(missing)} acknowledged records not at their offsets, first {missing[:3]}")
        return 1
    print(f"all {len(want)} acknowledged records read back at their offsets from {len(parts)} partitions")
    return 0


def main(argv):
    if len(argv) == 7 and argv[2] == "produce":
        return produce(argv[1], argv[3], int(argv[4]), argv[5], argv[6])
    if len(argv) == 5 and argv[2] == "verify":
        return verify(argv[1], argv[3], argv[4])
    print("usage: ride_through.py BOOTSTRAP produce TOPIC N ACKED MARKER | BOOTSTRAP verify TOPIC ACKED")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
