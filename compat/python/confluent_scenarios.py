"""confluent-kafka-python (librdkafka) scenarios of the compatibility suite.

Usage: confluent_scenarios.py BOOTSTRAP SCENARIO. Exits 0 when every check
passes; otherwise prints "FAIL: why" and exits 1. No scenario uses a consumer
group: librdkafka wants a group.id in the config, but the consumers only
assign() partitions and never commit.
"""

import base64
import json
import os
import sys
import time
import traceback

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)

BOOTSTRAP = ""


class Check(Exception):
    pass


def check(ok, msg):
    if not ok:
        raise Check(msg)


def admin():
    return AdminClient({"bootstrap.servers": BOOTSTRAP})


def consumer():
    return Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            # Required by librdkafka's config, never used: no subscribe, no commit.
            "group.id": "compat-unused",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
    )


def create(a, *topics):
    for name, fut in a.create_topics(list(topics), operation_timeout=10).items():
        fut.result(timeout=30)


def wait_listed(a, topic, present, timeout_s=10):
    deadline = time.time() + timeout_s
    while (topic in a.list_topics(timeout=10).topics) != present:
        check(time.time() < deadline, "topic %s %s listed after %ss" % (topic, "not" if present else "still", timeout_s))
        time.sleep(0.1)


def admin_create_topics():
    a = admin()
    create(
        a,
        NewTopic("ck-create-a", num_partitions=3, replication_factor=1),
        NewTopic("ck-create-b", num_partitions=1, replication_factor=1, config={"retention.ms": "3600000"}),
    )
    md = a.list_topics(timeout=10)
    check(len(md.topics["ck-create-a"].partitions) == 3, "ck-create-a partitions: %r" % md.topics["ck-create-a"].partitions)
    check(len(md.topics["ck-create-b"].partitions) == 1, "ck-create-b partitions")
    # Creating it again is refused with TOPIC_ALREADY_EXISTS.
    fut = a.create_topics([NewTopic("ck-create-a", num_partitions=3, replication_factor=1)])["ck-create-a"]
    try:
        fut.result(timeout=30)
        raise Check("creating ck-create-a twice succeeded")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS, "second create: %r" % e)
    # validate_only creates nothing.
    for fut in a.create_topics([NewTopic("ck-create-v", 2, 1)], validate_only=True).values():
        fut.result(timeout=30)
    check("ck-create-v" not in a.list_topics(timeout=10).topics, "validate_only created the topic")
    # More partitions later.
    a.create_partitions([NewPartitions("ck-create-a", 5)])["ck-create-a"].result(timeout=30)
    deadline = time.time() + 10
    while len(a.list_topics("ck-create-a", timeout=10).topics["ck-create-a"].partitions) != 5:
        check(time.time() < deadline, "create_partitions to 5 not visible after 10s")
        time.sleep(0.1)


def admin_describe_topics():
    a = admin()
    create(a, NewTopic("ck-describe", num_partitions=3, replication_factor=1, config={"retention.ms": "7200000"}))
    d = a.describe_topics(TopicCollection(["ck-describe"]))["ck-describe"].result(timeout=30)
    check(d.name == "ck-describe", "name %r" % d.name)
    check(len(d.partitions) == 3, "describe_topics partitions: %d" % len(d.partitions))
    for p in d.partitions:
        check(p.leader is not None and [r.id for r in p.replicas] == [p.leader.id] and [r.id for r in p.isr] == [p.leader.id],
              "partition %d: leader %r replicas %r isr %r" % (p.id, p.leader, p.replicas, p.isr))
    check(d.topic_id is not None and str(d.topic_id) != "AAAAAAAAAAAAAAAAAAAAAA", "topic id %r" % d.topic_id)
    cluster = a.describe_cluster().result(timeout=30)
    check(len(cluster.nodes) == 1 and cluster.controller is not None, "describe_cluster: %r" % cluster)
    res = ConfigResource(ConfigResource.Type.TOPIC, "ck-describe")
    cfg = a.describe_configs([res])[res].result(timeout=30)
    check(cfg["retention.ms"].value == "7200000", "retention.ms %r" % cfg["retention.ms"])
    check(ConfigSource(cfg["retention.ms"].source) == ConfigSource.DYNAMIC_TOPIC_CONFIG,
          "retention.ms source %r" % cfg["retention.ms"].source)
    check(cfg["cleanup.policy"].value == "delete", "cleanup.policy %r" % cfg["cleanup.policy"])
    a.incremental_alter_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, "ck-describe", incremental_configs=[
            ConfigEntry("retention.ms", "1000000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("cleanup.policy", None, incremental_operation=AlterConfigOpType.DELETE),
        ])]
    )[res].result(timeout=30)
    cfg = a.describe_configs([res])[res].result(timeout=30)
    check(cfg["retention.ms"].value == "1000000", "after incremental_alter_configs retention.ms %r" % cfg["retention.ms"])
    # A topic that does not exist.
    try:
        a.describe_topics(TopicCollection(["ck-no-such-topic"]))["ck-no-such-topic"].result(timeout=30)
        raise Check("describe_topics of a missing topic succeeded")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART, "missing topic: %r" % e)


def admin_delete_topics():
    a = admin()
    create(a, NewTopic("ck-delete", num_partitions=2, replication_factor=1))
    wait_listed(a, "ck-delete", True)
    for fut in a.delete_topics(["ck-delete"], operation_timeout=10).values():
        fut.result(timeout=30)
    wait_listed(a, "ck-delete", False)
    try:
        a.delete_topics(["ck-delete"])["ck-delete"].result(timeout=30)
        raise Check("deleting ck-delete twice succeeded")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART, "second delete: %r" % e)


def produce_keyed(topic, n, conf=None):
    """Produces n keyed records with headers; returns them with their delivery reports."""
    p = Producer(dict({"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True, "linger.ms": 5}, **(conf or {})))
    sent, errors = [], []

    def reporter(headers):
        # The delivery report's message does not carry the headers: keep the sent ones.
        def report(err, msg):
            if err is not None:
                errors.append(err)
            else:
                sent.append((msg.partition(), msg.offset(), msg.key(), msg.value(), headers))
        return report

    for i in range(n):
        headers = [("seq", str(i).encode()), ("client", b"confluent-kafka")]
        p.produce(topic, key=b"key-%d" % (i % 41), value=b"value-%d" % i, headers=headers, on_delivery=reporter(headers))
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(30)
    check(left == 0, "%d records not delivered after 30s" % left)
    check(not errors, "delivery errors: %r" % errors[:5])
    check(len(sent) == n, "%d delivery reports for %d records" % (len(sent), n))
    return sent


def by_partition(sent):
    parts = {}
    for rec in sent:
        parts.setdefault(rec[0], []).append(rec)
    for recs in parts.values():
        recs.sort(key=lambda r: r[1])
    return parts


def idempotent_produce():
    a = admin()
    create(a, NewTopic("ck-idempotent", num_partitions=3, replication_factor=1))
    n = 6000
    sent = produce_keyed("ck-idempotent", n)
    parts = by_partition(sent)
    check(len(parts) == 3, "records in %d partitions, want 3" % len(parts))
    keys = {}
    for p, recs in parts.items():
        check([r[1] for r in recs] == list(range(len(recs))), "partition %d: offsets are not 0..%d" % (p, len(recs) - 1))
        seqs = [int(r[4][0][1]) for r in recs]
        check(seqs == sorted(seqs), "partition %d: records out of send order" % p)
        for r in recs:
            check(keys.setdefault(r[2], p) == p, "key %r in two partitions" % r[2])
    c = consumer()
    for p, recs in parts.items():
        lo, hi = c.get_watermark_offsets(TopicPartition("ck-idempotent", p), timeout=10)
        check((lo, hi) == (0, len(recs)), "partition %d watermarks %r, want (0, %d)" % (p, (lo, hi), len(recs)))
    c.close()


def consume_assign():
    a = admin()
    create(a, NewTopic("ck-consume", num_partitions=3, replication_factor=1))
    n = 3000
    parts = by_partition(produce_keyed("ck-consume", n, {"compression.type": "lz4"}))
    c = consumer()
    c.assign([TopicPartition("ck-consume", p, OFFSET_BEGINNING) for p in range(3)])
    got = {}
    count = 0
    deadline = time.time() + 60
    while count < n:
        check(time.time() < deadline, "consumed %d of %d in 60s" % (count, n))
        for m in c.consume(500, timeout=0.5):
            check(m.error() is None, "consume error %r" % m.error())
            got.setdefault(m.partition(), []).append((m.partition(), m.offset(), m.key(), m.value(), m.headers()))
            count += 1
    check(not c.consume(100, timeout=0.5), "records beyond the %d produced" % n)
    for p, recs in parts.items():
        check(got.get(p) == recs, "partition %d: consumed records differ from produced (first: %r vs %r)"
              % (p, (got.get(p) or [None])[0], recs[0]))
    # Seek to an offset of one partition.
    tp = TopicPartition("ck-consume", 1, 7)
    c.assign([tp])
    m = None
    deadline = time.time() + 10
    while m is None and time.time() < deadline:
        m = c.poll(0.5)
    check(m is not None and m.offset() == 7 and (1, 7, m.key(), m.value(), m.headers()) == parts[1][7],
          "after assign at offset 7: %r" % ((m and (m.partition(), m.offset())),))
    c.close()


def offsets_for_times():
    a = admin()
    create(a, NewTopic("ck-times", num_partitions=1, replication_factor=1))
    base = int(time.time() * 1000) - 3600_000
    p = Producer({"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True})
    for i in range(100):
        p.produce("ck-times", value=b"v%d" % i, partition=0, timestamp=base + i * 1000)
    check(p.flush(30) == 0, "not delivered")
    c = consumer()
    for i in (0, 1, 42, 99):
        for ts in (base + i * 1000, base + i * 1000 - 500):
            r = c.offsets_for_times([TopicPartition("ck-times", 0, ts)], timeout=10)
            check(r[0].error is None and r[0].offset == i, "offsets_for_times(%d): %r, want offset %d" % (ts - base, r[0], i))
    r = c.offsets_for_times([TopicPartition("ck-times", 0, base + 500_000)], timeout=10)
    check(r[0].offset == -1, "offsets_for_times after the last record: %r, want -1 (end)" % r[0])
    c.assign([TopicPartition("ck-times", 0, c.offsets_for_times([TopicPartition("ck-times", 0, base + 60_000)], timeout=10)[0].offset)])
    got = []
    deadline = time.time() + 30
    while len(got) < 40 and time.time() < deadline:
        got += c.consume(100, timeout=0.5)
    check([m.offset() for m in got] == list(range(60, 100)), "offsets after seeking to t60: %r" % [m.offset() for m in got][:10])
    check(got[0].timestamp()[1] == base + 60_000 and got[0].value() == b"v60", "first record: %r" % (got[0].timestamp(),))
    c.close()


def admin_list_offsets_delete_records():
    a = admin()
    create(a, NewTopic("ck-offsets", num_partitions=2, replication_factor=1))
    base = int(time.time() * 1000) - 600_000
    p = Producer({"bootstrap.servers": BOOTSTRAP})
    for i in range(30):
        # Partition 0 gets 30 records, the newest timestamp at offset 17.
        p.produce("ck-offsets", value=b"v%d" % i, partition=0, timestamp=base + (99_000 if i == 17 else i * 1000))
    check(p.flush(30) == 0, "not delivered")
    tp0, tp1 = TopicPartition("ck-offsets", 0), TopicPartition("ck-offsets", 1)

    def offsets(spec):
        res = a.list_offsets({tp0: spec, tp1: spec})
        return tuple(res[tp].result(timeout=30).offset for tp in (tp0, tp1))

    check(offsets(OffsetSpec.earliest()) == (0, 0), "list_offsets earliest %r" % (offsets(OffsetSpec.earliest()),))
    check(offsets(OffsetSpec.latest()) == (30, 0), "list_offsets latest %r" % (offsets(OffsetSpec.latest()),))
    mt = a.list_offsets({tp0: OffsetSpec.max_timestamp()})[tp0].result(timeout=30)
    check(mt.offset == 17 and mt.timestamp == base + 99_000, "list_offsets max_timestamp: offset %d ts %d" % (mt.offset, mt.timestamp))
    ts = a.list_offsets({tp0: OffsetSpec.for_timestamp(base + 5_500)})[tp0].result(timeout=30)
    check(ts.offset == 6, "list_offsets for_timestamp(t5.5): %d, want 6" % ts.offset)

    res = a.delete_records([TopicPartition("ck-offsets", 0, 12)])
    for tp, fut in res.items():
        r = fut.result(timeout=30)
        check(r.low_watermark == 12, "delete_records low watermark %r, want 12" % r.low_watermark)
    check(offsets(OffsetSpec.earliest()) == (12, 0), "earliest after delete_records %r" % (offsets(OffsetSpec.earliest()),))
    try:
        a.delete_records([TopicPartition("ck-offsets", 0, 31)])[TopicPartition("ck-offsets", 0, 31)].result(timeout=30)
        raise Check("delete_records beyond the high watermark succeeded")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE, "delete_records beyond the end: %r" % e)


def consumer_group():
    a = admin()
    create(a, NewTopic("ck-group", num_partitions=3, replication_factor=1))
    n = 1000
    produce_keyed("ck-group", n)
    first, rest = set(), set()
    for seen, want in ((first, n // 2), (rest, None)):
        c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "ck-group", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest"})
        c.subscribe(["ck-group"])
        target = want if want is not None else n - len(first)
        deadline = time.time() + 60
        while len(seen) < target:
            check(time.time() < deadline, "consumed %d of %d in 60s" % (len(seen), target))
            for m in c.consume(100, timeout=0.5):
                check(m.error() is None, "consume error %r" % m.error())
                v = m.value()
                check(v not in first and v not in rest, "record %r consumed twice" % v)
                seen.add(v)
        # Commit the position: everything consumed so far.
        c.commit(asynchronous=False)
        committed = {tp.partition: tp.offset for tp in c.committed(c.assignment(), timeout=10)}
        # A partition this member read nothing from has no position (OFFSET_INVALID).
        positions = {tp.partition: tp.offset for tp in c.position(c.assignment()) if tp.offset >= 0}
        check(all(committed[p] == o for p, o in positions.items()), "committed %r, positions %r" % (committed, positions))
        c.close()
    check(len(first) >= n // 2 and len(first) + len(rest) == n, "first member %d, second %d, want %d" % (len(first), len(rest), n))
    groups = a.list_consumer_groups().result(timeout=30)
    check("ck-group" in [g.group_id for g in groups.valid], "list_consumer_groups: %r" % groups.valid)


def configs_compaction():
    """Broker and topic configs through DescribeConfigs and
    IncrementalAlterConfigs (SET, DELETE, APPEND, SUBTRACT), Kafka's error for
    a bad value and for a keyless record on a compacted topic, then the
    cleaner compacting a topic that librdkafka reads back across the gaps."""
    a = admin()
    broker = ConfigResource(ConfigResource.Type.BROKER, "1")
    cfg = a.describe_configs([broker])[broker].result(timeout=30)
    check(cfg["log.retention.hours"].value == "168", "log.retention.hours %r" % cfg["log.retention.hours"])
    check(ConfigSource(cfg["log.cleaner.backoff.ms"].source) == ConfigSource.DEFAULT_CONFIG,
          "log.cleaner.backoff.ms source %r" % cfg["log.cleaner.backoff.ms"].source)
    # librdkafka refuses the cluster-default resource (an empty name), so
    # this sets broker 1's own value.
    default = ConfigResource(ConfigResource.Type.BROKER, "1", incremental_configs=[
        ConfigEntry("log.cleaner.backoff.ms", "20", incremental_operation=AlterConfigOpType.SET)])
    for f in a.incremental_alter_configs([default]).values():
        f.result(timeout=30)
    try:
        cfg = a.describe_configs([broker])[broker].result(timeout=30)
        e = cfg["log.cleaner.backoff.ms"]
        check(e.value == "20" and ConfigSource(e.source) == ConfigSource.DYNAMIC_BROKER_CONFIG,
              "after setting broker 1's value: %r source %r" % (e.value, e.source))

        create(a, NewTopic("ck-compact", num_partitions=1, replication_factor=1, config={
            "cleanup.policy": "compact", "segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01"}))
        topic = ConfigResource(ConfigResource.Type.TOPIC, "ck-compact")

        def alter(*entries):
            r = ConfigResource(ConfigResource.Type.TOPIC, "ck-compact", incremental_configs=list(entries))
            for f in a.incremental_alter_configs([r]).values():
                f.result(timeout=30)
            return a.describe_configs([topic])[topic].result(timeout=30)

        cfg = alter(ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.APPEND))
        check(cfg["cleanup.policy"].value == "compact,delete", "after APPEND delete: %r" % cfg["cleanup.policy"].value)
        cfg = alter(ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SUBTRACT))
        check(cfg["cleanup.policy"].value == "compact", "after SUBTRACT delete: %r" % cfg["cleanup.policy"].value)
        try:
            alter(ConfigEntry("retention.ms", "soon", incremental_operation=AlterConfigOpType.SET))
            raise Check("retention.ms=soon was accepted")
        except KafkaException as e:
            check(e.args[0].code() == KafkaError.INVALID_CONFIG, "retention.ms=soon: %r" % e)

        errors = []
        # Batches must stay under the topic's 4 KiB segments: a bigger one
        # gets RECORD_LIST_TOO_LARGE, from Kafka as from Samsa.
        p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 0, "batch.size": 2048})
        p.produce("ck-compact", value=b"no key", on_delivery=lambda err, msg: errors.append(err))
        p.flush(30)
        check(len(errors) == 1 and errors[0] is not None and errors[0].code() == KafkaError.INVALID_RECORD,
              "keyless record on a compacted topic: %r" % errors)

        latest, failed = {}, []
        report = lambda err, msg: err is not None and failed.append(err)
        for i in range(200):
            key = "key-%d" % (i % 10)
            latest[key] = "%s=%d" % (key, i)
            p.produce("ck-compact", key=key, value=latest[key], on_delivery=report)
        for i in range(60):  # push the keyed records out of the active segment
            p.produce("ck-compact", key="filler", value="f" * 200, on_delivery=report)
        check(p.flush(30) == 0, "records left unsent")
        check(not failed, "%d keyed records failed, first: %r" % (len(failed), failed[:1]))

        deadline = time.time() + 30
        while True:
            got = read_all("ck-compact")
            values = {}
            for k, v in got:
                values.setdefault(k, []).append(v)
            if all(values.get(k) == [v] for k, v in latest.items()):
                break
            check(time.time() < deadline, "not compacted after 30 s: %r" % {k: len(v) for k, v in values.items()})
            time.sleep(0.2)
    finally:
        restore = ConfigResource(ConfigResource.Type.BROKER, "1", incremental_configs=[
            ConfigEntry("log.cleaner.backoff.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
        for f in a.incremental_alter_configs([restore]).values():
            f.result(timeout=30)


def read_all(topic):
    """Reads partition 0 of topic from the start to its end; (key, value) pairs."""
    c = consumer()
    low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    out, last = [], low - 1
    deadline = time.time() + 30
    while last + 1 < high:
        check(time.time() < deadline, "reading %s: at %d of %d" % (topic, last, high))
        m = c.poll(1.0)
        if m is None:
            continue
        check(m.error() is None, "consume: %r" % m.error())
        check(m.offset() > last, "offset %d after %d" % (m.offset(), last))
        last = m.offset()
        out.append((m.key().decode(), m.value().decode()))
    c.close()
    return out


def read_exactly(topic, partitions, n, isolation):
    """Reads n records from every partition of topic from the start with the
    given isolation.level, then checks that nothing more comes; returns them
    by partition as (offset, key, value)."""
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "compat-unused", "enable.auto.commit": False,
                  "isolation.level": isolation})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    got = {p: [] for p in range(partitions)}
    count = 0
    deadline = time.time() + 60
    while count < n:
        check(time.time() < deadline, "%s %s: %d of %d records in 60s" % (isolation, topic, count, n))
        for m in c.consume(500, timeout=0.5):
            check(m.error() is None, "%s consume error %r" % (isolation, m.error()))
            got[m.partition()].append((m.offset(), m.key(), m.value()))
            count += 1
    extra = c.consume(100, timeout=1.0)
    check(not extra, "%s %s: records beyond the %d expected, first %r" % (isolation, topic, n, extra[:1] and (extra[0].partition(), extra[0].offset(), extra[0].value())))
    c.close()
    return got


def transactions():
    """librdkafka transactions: a consume-transform-produce loop with
    isolation.level=read_committed and send_offsets_to_transaction, every
    4th transaction aborted on purpose (then re-processed), one aborted
    transaction on its own, and a zombie fenced by a second producer with
    the same transactional.id. read_committed sees each input record exactly
    once, read_uncommitted every record sent, and the group committed the
    input's end offsets."""
    a = admin()
    create(a, NewTopic("ck-txn-in", num_partitions=2, replication_factor=1),
           NewTopic("ck-txn-out", num_partitions=2, replication_factor=1))
    n = 400
    inp = by_partition(produce_keyed("ck-txn-in", n))
    check(sorted(inp) == [0, 1], "input in partitions %r, want 0 and 1" % sorted(inp))
    ends = {p: len(recs) for p, recs in inp.items()}

    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "ck-txn", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    c.subscribe(["ck-txn-in"])
    p = Producer({"bootstrap.servers": BOOTSTRAP, "transactional.id": "ck-txn", "linger.ms": 5})
    p.init_transactions(30)
    errors = []
    report = lambda err, msg: err is not None and errors.append(err)
    done = batches = aborted = sent = 0
    deadline = time.time() + 90
    while done < n:
        check(time.time() < deadline, "committed %d of %d input records in 90s" % (done, n))
        msgs = c.consume(50, timeout=0.5)
        if not msgs:
            continue
        batches += 1
        first, nxt = {}, {}
        p.begin_transaction()
        for m in msgs:
            check(m.error() is None, "consume error %r" % m.error())
            first.setdefault(m.partition(), m.offset())
            nxt[m.partition()] = m.offset() + 1
            p.produce("ck-txn-out", key=m.key(), value=b"out:" + m.value(), partition=m.partition(), on_delivery=report)
        sent += len(msgs)
        p.send_offsets_to_transaction([TopicPartition("ck-txn-in", q, o) for q, o in nxt.items()],
                                      c.consumer_group_metadata(), 30)
        if batches % 4 == 0:
            # Delivered first, so that the aborted records are in the log.
            check(p.flush(30) == 0, "records of an aborted transaction not delivered")
            p.abort_transaction(30)
            aborted += 1
            for q, o in first.items():
                c.seek(TopicPartition("ck-txn-in", q, o))
        else:
            p.commit_transaction(30)
            done += len(msgs)
    check(not errors, "delivery errors: %r" % errors[:5])
    check(aborted > 0, "no transaction aborted")
    committed = c.committed([TopicPartition("ck-txn-in", q) for q in range(2)], timeout=30)
    check({tp.partition: tp.offset for tp in committed} == ends,
          "group ck-txn committed %r, want the input's end offsets %r" % ({tp.partition: tp.offset for tp in committed}, ends))
    c.close()

    # A transaction aborted on its own.
    p.begin_transaction()
    for i in range(10):
        p.produce("ck-txn-out", value=b"aborted-%d" % i, partition=i % 2, on_delivery=report)
    check(p.flush(30) == 0, "records of the aborted transaction not delivered")
    p.abort_transaction(30)
    sent += 10

    # The zombie: p's open transaction, fenced by a new producer with the same transactional.id.
    p.begin_transaction()
    for i in range(6):
        p.produce("ck-txn-out", value=b"zombie-%d" % i, partition=i % 2, on_delivery=report)
    check(p.flush(30) == 0, "records of the zombie's transaction not delivered")
    sent += 6
    p2 = Producer({"bootstrap.servers": BOOTSTRAP, "transactional.id": "ck-txn"})
    p2.init_transactions(30)
    try:
        p.commit_transaction(30)
        raise Check("the zombie committed after a new producer's init_transactions")
    except KafkaException as e:
        err = e.args[0]
        check(err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)
              and err.fatal(), "the zombie's commit_transaction: want a fatal _FENCED/PRODUCER_FENCED, got %r" % err)
        print("the zombie's commit_transaction failed: %s" % err)
    check(not errors, "delivery errors: %r" % errors[:5])
    p2.begin_transaction()
    p2.produce("ck-txn-out", value=b"last", partition=0)
    p2.commit_transaction(30)
    sent += 1
    print("%d transactions, %d aborted on purpose; %d output records sent" % (batches, aborted, sent))

    got = read_exactly("ck-txn-out", 2, n + 1, "read_committed")
    for q in range(2):
        want = [b"out:" + r[3] for r in inp[q]] + ([b"last"] if q == 0 else [])
        have = [r[2] for r in got[q]]
        if have != want:
            i = next((i for i, (x, y) in enumerate(zip(have, want)) if x != y), min(len(have), len(want)))
            raise Check("read_committed ck-txn-out partition %d: %d records, want %d; first difference at #%d: %r, want %r"
                        % (q, len(have), len(want), i, have[i:i + 1], want[i:i + 1]))
    got = read_exactly("ck-txn-out", 2, sent, "read_uncommitted")
    ends_by = {}
    for iso in ("read_committed", "read_uncommitted"):
        c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "compat-unused", "isolation.level": iso})
        ends_by[iso] = [c.get_watermark_offsets(TopicPartition("ck-txn-out", q), timeout=10)[1] for q in range(2)]
        c.close()
    lso, hw = ends_by["read_committed"], ends_by["read_uncommitted"]
    check(lso == hw, "no transaction open: read_committed end offsets (LSO) %r, read_uncommitted %r" % (lso, hw))
    last = [got[q][-1][0] for q in range(2)]
    check(all(hw[q] == last[q] + 2 for q in range(2)),
          "high watermarks %r, want the last records' offsets %r plus one for the record and one for p2's commit marker"
          % (hw, last))

def env(name):
    v = os.environ.get(name, "")
    check(v != "", "$%s is not set (run by compat/run.sh?)" % name)
    return v


def secure_roundtrip(topic, conf, n=2000):
    """Through one security listener (conf): the broker is advertised at the
    listener's address, a topic is created, n keyed records with headers are
    produced (idempotent) and read back with assign(), record for record."""
    bootstrap = conf["bootstrap.servers"]
    a = AdminClient(dict(conf))
    md = a.list_topics(timeout=30)
    names = ["%s:%d" % (b.host, b.port) for b in md.brokers.values()]
    check(names == [bootstrap], "brokers advertised as %r through %s" % (names, bootstrap))
    create(a, NewTopic(topic, num_partitions=3, replication_factor=1))
    parts = by_partition(produce_keyed(topic, n, conf))
    check(len(parts) > 1, "every record in one partition")
    c = Consumer(dict(conf, **{"group.id": "compat-unused", "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
    got, count = {}, 0
    deadline = time.time() + 60
    while count < n:
        check(time.time() < deadline, "consumed %d of %d in 60s" % (count, n))
        for m in c.consume(500, timeout=0.5):
            check(m.error() is None, "consume error %r" % m.error())
            got.setdefault(m.partition(), []).append((m.partition(), m.offset(), m.key(), m.value(), m.headers()))
            count += 1
    check(not c.consume(100, timeout=0.5), "records beyond the %d produced" % n)
    c.close()
    for p, recs in parts.items():
        check(got.get(p) == recs, "partition %d: consumed records differ from produced" % p)
    print("%d records through %s" % (n, bootstrap))


def expect_refused(what, conf, code, text):
    """A client with conf must be refused: librdkafka reports an error event
    with this code whose text contains text, and a metadata request fails."""
    errors = []
    p = Producer(dict(conf, error_cb=lambda e: errors.append(e)))
    try:
        p.list_topics(timeout=5)
        raise Check("%s: list_topics succeeded" % what)
    except KafkaException:
        pass
    p.poll(0.5)
    p.flush(1)
    check(any(e.code() == code and text in e.str() for e in errors),
          "%s: errors %r, want %s with [%s]" % (what, [(e.name(), e.str()) for e in errors], KafkaError(code).name(), text))
    print("%s: refused as expected: %s" % (what, [e.str() for e in errors if e.code() == code][0]))


def sasl_ssl_scram():
    base = {
        "bootstrap.servers": env("BOOTSTRAP_SASL_SSL"),
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": env("TLS_DIR") + "/ca.crt",
        "sasl.username": env("SCRAM_USER"),
        "sasl.password": env("SCRAM_PASSWORD"),
    }
    secure_roundtrip("ck-sasl-ssl-256", dict(base, **{"sasl.mechanisms": "SCRAM-SHA-256"}))
    secure_roundtrip("ck-sasl-ssl-512", dict(base, **{"sasl.mechanisms": "SCRAM-SHA-512"}), 500)
    expect_refused("SCRAM-SHA-512, a wrong password", dict(base, **{"sasl.mechanisms": "SCRAM-SHA-512", "sasl.password": "not-the-password"}),
                   KafkaError._AUTHENTICATION,
                   "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")


def mtls():
    base = {
        "bootstrap.servers": env("BOOTSTRAP_MTLS"),
        "security.protocol": "SSL",
        "ssl.ca.location": env("TLS_DIR") + "/ca.crt",
    }
    secure_roundtrip("ck-mtls", dict(base, **{
        "ssl.certificate.location": env("TLS_DIR") + "/client.crt",
        "ssl.key.location": env("TLS_DIR") + "/client.key",
    }))
    # The same client certificate from the PKCS12 key store made by openssl.
    secure_roundtrip("ck-mtls-p12", dict(base, **{
        "ssl.keystore.location": env("TLS_DIR") + "/client.p12",
        "ssl.keystore.password": env("TLS_PASSWORD"),
    }), 300)
    # No client certificate: the broker's TLS 1.3 alert, as OpenSSL words it.
    expect_refused("no client certificate", base, KafkaError._TRANSPORT, "certificate required")


def read_token(name):
    """One of the scenario's token files ($OAUTH_TOKENS/name) and its exp claim."""
    with open(os.path.join(env("OAUTH_TOKENS"), name)) as f:
        token = f.read().strip()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return token, claims["exp"]


def oauth_conf(name):
    """OAUTHBEARER on the SASL_PLAINTEXT listener with an oauth_cb handing
    librdkafka the token in file name. librdkafka refuses a token whose
    lifetime has passed before sending it, so the callback claims an hour
    from now whatever the token's exp says: the broker must look at the JWT."""
    token, _ = read_token(name)
    return {
        "bootstrap.servers": env("BOOTSTRAP_SASL"),
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "OAUTHBEARER",
        "oauth_cb": lambda _config: (token, time.time() + 3600),
    }


def sasl_oauthbearer():
    secure_roundtrip("ck-oauth", oauth_conf("good"))
    text = "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER"
    for name in ("expired", "forged", "wrong-audience"):
        expect_refused("OAUTHBEARER, a token " + name, oauth_conf(name), KafkaError._AUTHENTICATION, text)


SCENARIOS = {
    "sasl-oauthbearer": sasl_oauthbearer,
    "sasl-ssl-scram": sasl_ssl_scram,
    "mtls": mtls,
    "transactions": transactions,
    "configs-compaction": configs_compaction,
    "consumer-group": consumer_group,
    "admin-list-offsets-delete-records": admin_list_offsets_delete_records,
    "admin-create-topics": admin_create_topics,
    "admin-describe-topics": admin_describe_topics,
    "admin-delete-topics": admin_delete_topics,
    "idempotent-produce": idempotent_produce,
    "consume-assign": consume_assign,
    "offsets-for-times": offsets_for_times,
}

if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--version":
        import confluent_kafka
        print("confluent-kafka %s (librdkafka %s)" % (confluent_kafka.version()[0], confluent_kafka.libversion()[0]))
        sys.exit(0)
    BOOTSTRAP, name = sys.argv[1], sys.argv[2]
    try:
        SCENARIOS[name]()
    except Check as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
    except Exception as e:
        traceback.print_exc()
        print("FAIL: %r" % e, file=sys.stderr)
        sys.exit(1)
    print("ok", name)
