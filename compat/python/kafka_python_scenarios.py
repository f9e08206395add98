"""kafka-python scenarios of the compatibility suite (run under 2.0.2 and the
current release, each in its own venv).

Usage: kafka_python_scenarios.py BOOTSTRAP SCENARIO. Exits 0 when every check
passes; otherwise prints "FAIL: why" and exits 1. The consumer has no group:
group_id=None, assign() and seek_to_beginning().
"""

import logging
import os
import sys
import time
import traceback

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

BOOTSTRAP = ""
# Security settings every client of a scenario gets (the SASL scenarios).
SECURITY = {}


class Check(Exception):
    pass


def check(ok, msg):
    if not ok:
        raise Check(msg)


def admin():
    return KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=30000, **SECURITY)


def create(topic, partitions, configs=None):
    a = admin()
    a.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs or {})])
    a.close()


def roundtrip(topic, n, compression=None):
    create(topic, 3)
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=5, compression_type=compression, **SECURITY)
    futures = []
    for i in range(n):
        futures.append(p.send(topic, key=b"key-%d" % (i % 29), value=b"value-%d" % i,
                              headers=[("seq", str(i).encode()), ("client", b"kafka-python")]))
    p.flush(30)
    sent = {}
    keys = {}
    for i, f in enumerate(futures):
        md = f.get(timeout=30)
        sent.setdefault(md.partition, []).append((md.offset, b"key-%d" % (i % 29), b"value-%d" % i,
                                                   [("seq", str(i).encode()), ("client", b"kafka-python")]))
        check(keys.setdefault(i % 29, md.partition) == md.partition, "key %d in two partitions" % (i % 29))
    p.close()
    check(len(sent) > 1, "every record in one partition")
    for part, recs in sent.items():
        check([r[0] for r in recs] == list(range(len(recs))), "partition %d: acknowledged offsets not 0..n-1" % part)

    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=None, enable_auto_commit=False, **SECURITY)
    tps = [TopicPartition(topic, part) for part in range(3)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    ends = c.end_offsets(tps)
    for tp in tps:
        check(ends[tp] == len(sent.get(tp.partition, [])), "%r end offset %d" % (tp, ends[tp]))
    got = {}
    count = 0
    deadline = time.time() + 60
    while count < n:
        check(time.time() < deadline, "consumed %d of %d in 60s" % (count, n))
        for tp, msgs in c.poll(timeout_ms=500).items():
            for m in msgs:
                got.setdefault(m.partition, []).append((m.offset, m.key, m.value, [(k, v) for k, v in m.headers]))
                count += 1
    check(not c.poll(timeout_ms=500), "records beyond the %d produced" % n)
    c.close()
    for part, recs in sent.items():
        check(got.get(part) == recs, "partition %d: consumed records differ (first %r, want %r)"
              % (part, (got.get(part) or [None])[0], recs[0]))
    print("produced and consumed %d records over %d partitions" % (n, len(sent)))


def admin_scenario():
    topic = "kp-%s-admin" % kafka.__version__
    a = admin()
    a.create_topics([NewTopic(topic, 2, 1, topic_configs={"retention.ms": "3600000"})])
    try:
        a.create_topics([NewTopic(topic, 2, 1)])
        raise Check("creating the topic twice succeeded")
    except TopicAlreadyExistsError:
        pass
    check(topic in a.list_topics(), "list_topics does not list the topic")
    res = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    if isinstance(res, dict):
        # 3.x: {resource type: {name: {config key: {config data}}}}
        print("describe_configs: %r" % res)
        entries = {}
        for names in res.values():
            for k, v in names.get(topic, {}).items():
                entries[k] = v.get("value") if isinstance(v, dict) else v
    else:
        # 2.0: a list of DescribeConfigsResponse; resources: (error, message, type, name, entries)
        entries = {e[0]: e[1] for e in res[0].resources[0][4]}
    check(entries.get("retention.ms") == "3600000", "describe_configs retention.ms=%r" % entries.get("retention.ms"))
    a.delete_topics([topic])
    deadline = time.time() + 10
    while topic in a.list_topics():
        check(time.time() < deadline, "topic still listed 10s after delete_topics")
        time.sleep(0.1)
    a.close()


def offsets_for_times():
    topic = "kp-%s-times" % kafka.__version__
    create(topic, 1)
    base = int(time.time() * 1000) - 600_000
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    for i in range(50):
        p.send(topic, value=b"v%d" % i, partition=0, timestamp_ms=base + i * 1000)
    p.flush(30)
    p.close()
    tp = TopicPartition(topic, 0)
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=None, enable_auto_commit=False)
    check(c.beginning_offsets([tp])[tp] == 0 and c.end_offsets([tp])[tp] == 50,
          "beginning/end offsets %r %r" % (c.beginning_offsets([tp]), c.end_offsets([tp])))
    for i in (0, 7, 49):
        r = c.offsets_for_times({tp: base + i * 1000 - 200})[tp]
        check(r is not None and r.offset == i and r.timestamp == base + i * 1000, "offsets_for_times(t%d): %r" % (i, r))
    check(c.offsets_for_times({tp: base + 100_000})[tp] is None, "offsets_for_times after the end is not None")
    c.assign([tp])
    c.seek(tp, 45)
    got = []
    deadline = time.time() + 30
    while len(got) < 5 and time.time() < deadline:
        for msgs in c.poll(timeout_ms=300).values():
            got += [(m.offset, m.value, m.timestamp) for m in msgs]
    check(got == [(i, b"v%d" % i, base + i * 1000) for i in range(45, 50)], "after seek(45): %r" % got)
    c.close()


def consumer_group():
    topic = group = "kp-%s-group" % kafka.__version__
    create(topic, 3)
    n = 1000
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    for i in range(n):
        p.send(topic, key=b"k%d" % (i % 13), value=b"v%d" % i)
    p.flush(30)
    p.close()
    first, rest = set(), set()
    for seen, target in ((first, n // 2), (rest, None)):
        c = KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False,
                          auto_offset_reset="earliest")
        target = target if target is not None else n - len(first)
        deadline = time.time() + 60
        while len(seen) < target:
            check(time.time() < deadline, "consumed %d of %d in 60s" % (len(seen), target))
            for msgs in c.poll(timeout_ms=300, max_records=100).values():
                for m in msgs:
                    check(m.value not in first and m.value not in rest, "record %r consumed twice" % m.value)
                    seen.add(m.value)
        c.commit()
        for tp in c.assignment():
            check(c.committed(tp) == c.position(tp), "%r: committed %r, position %r" % (tp, c.committed(tp), c.position(tp)))
        c.close()
    check(len(first) >= n // 2 and len(first) + len(rest) == n, "first member %d, second %d, want %d" % (len(first), len(rest), n))


def env(name):
    v = os.environ.get(name, "")
    check(v != "", "$%s is not set (run by compat/run.sh?)" % name)
    return v


def sasl_security(mechanism, user, password):
    global BOOTSTRAP, SECURITY
    BOOTSTRAP = env("BOOTSTRAP_SASL")
    SECURITY = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mechanism,
                "sasl_plain_username": user, "sasl_plain_password": password}


def sasl(mechanism, user, password, topic):
    """SASL_PLAINTEXT (run.sh's BOOTSTRAP_SASL) with one mechanism: the broker
    is advertised at that listener, and the roundtrip scenario through it."""
    sasl_security(mechanism, user, password)
    a = admin()
    brokers = ["%s:%d" % (b["host"], b["port"]) for b in a.describe_cluster()["brokers"]]
    a.close()
    check(brokers == [BOOTSTRAP], "brokers advertised as %r through %s" % (brokers, BOOTSTRAP))
    roundtrip(topic, 500)


def sasl_scram():
    sasl("SCRAM-SHA-256", env("SCRAM_USER"), env("SCRAM_PASSWORD"), "kp-%s-sasl-scram-256" % kafka.__version__)
    sasl("SCRAM-SHA-512", env("SCRAM_USER"), env("SCRAM_PASSWORD"), "kp-%s-sasl-scram-512" % kafka.__version__)


def refused(mechanism, user):
    """A wrong password: kafka-python retries the bootstrap until
    bootstrap_timeout_ms and logs each refusal as SaslAuthenticationFailedError
    with Kafka's message. Every attempt must get that answer, not a bare
    close: kafka-python drops a response that it reads together with the end
    of the stream, so this holds when the broker keeps the connection open a
    moment after its refusal, as Kafka does (connection.failed.authentication.delay.ms,
    100 ms by default)."""
    sasl_security(mechanism, user, "not-the-password")
    records = []
    handler = logging.Handler()
    handler.emit = lambda r: records.append(r.getMessage())
    logging.getLogger("kafka").addHandler(handler)
    logging.getLogger("kafka").setLevel(logging.INFO)
    try:
        KafkaAdminClient(bootstrap_servers=BOOTSTRAP, bootstrap_timeout_ms=3000, **SECURITY).close()
        raise Check("%s with a wrong password: KafkaAdminClient connected" % mechanism)
    except kafka.errors.KafkaError as e:
        err = e
    finally:
        logging.getLogger("kafka").removeHandler(handler)
    want = "SaslAuthenticationFailedError: Authentication failed during authentication due to invalid credentials with SASL mechanism " + mechanism
    refusals = [r for r in records if "Abort" in r and want in r]
    lost = [r for r in records if r.endswith("socket disconnected")]
    check(refusals and not lost, "%s with a wrong password: %d attempts read the refusal, %d saw only the connection closing (%r)"
          % (mechanism, len(refusals), len(lost), err))
    print("%s with a wrong password: refused as expected, %d times: %s" % (mechanism, len(refusals), refusals[0]))


def sasl_wrong_password():
    refused("PLAIN", env("PLAIN_USER"))
    refused("SCRAM-SHA-256", env("SCRAM_USER"))


try:  # where each kafka-python release keeps it: 3.x, 2.1-2.3, 2.0
    from kafka.net.sasl.oauth import AbstractTokenProvider
except ImportError:
    try:
        from kafka.sasl.oauth import AbstractTokenProvider
    except ImportError:
        from kafka.oauth.abstract import AbstractTokenProvider


class FileTokenProvider(AbstractTokenProvider):
    """kafka-python's sasl_oauth_token_provider for the token in one of the
    scenario's files ($OAUTH_TOKENS/name)."""

    def __init__(self, name):
        with open(os.path.join(env("OAUTH_TOKENS"), name)) as f:
            self._token = f.read().strip()

    def token(self):
        return self._token

    def extensions(self):
        return {}


def oauth_security(name):
    global BOOTSTRAP, SECURITY
    BOOTSTRAP = env("BOOTSTRAP_SASL")
    SECURITY = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "OAUTHBEARER",
                "sasl_oauth_token_provider": FileTokenProvider(name)}


def sasl_oauthbearer():
    """OAUTHBEARER on SASL_PLAINTEXT: a round trip with a valid token, then
    an expired one, a forged one and one for another audience: every attempt
    of the admin client is refused with SaslAuthenticationFailedError and
    Kafka's message, and it never connects."""
    oauth_security("good")
    roundtrip("kp-%s-sasl-oauthbearer" % kafka.__version__, 500)
    want = "SaslAuthenticationFailedError: Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER"
    for name in ("expired", "forged", "wrong-audience"):
        oauth_security(name)
        records = []
        handler = logging.Handler()
        handler.emit = lambda r: records.append(r.getMessage())
        logging.getLogger("kafka").addHandler(handler)
        logging.getLogger("kafka").setLevel(logging.INFO)
        try:
            KafkaAdminClient(bootstrap_servers=BOOTSTRAP, bootstrap_timeout_ms=3000, **SECURITY).close()
            raise Check("OAUTHBEARER with a token %s: KafkaAdminClient connected" % name)
        except kafka.errors.KafkaError:
            pass
        finally:
            logging.getLogger("kafka").removeHandler(handler)
        refusals = [r for r in records if want in r]
        check(refusals, "OAUTHBEARER with a token %s: no refusal with [%s] in the client's log: %r" % (name, want, records[-5:]))
        print("OAUTHBEARER with a token %s: refused as expected, %d times: %s" % (name, len(refusals), refusals[0]))


SCENARIOS = {
    "sasl-oauthbearer": sasl_oauthbearer,
    "sasl-plain": lambda: sasl("PLAIN", env("PLAIN_USER"), env("PLAIN_PASSWORD"), "kp-%s-sasl-plain" % kafka.__version__),
    "sasl-scram": sasl_scram,
    "sasl-wrong-password": sasl_wrong_password,
    "consumer-group": consumer_group,
    "roundtrip": lambda: roundtrip("kp-%s-roundtrip" % kafka.__version__, 2000),
    "compression-gzip": lambda: roundtrip("kp-%s-gzip" % kafka.__version__, 1000, "gzip"),
    "compression-snappy": lambda: roundtrip("kp-%s-snappy" % kafka.__version__, 1000, "snappy"),
    "compression-lz4": lambda: roundtrip("kp-%s-lz4" % kafka.__version__, 1000, "lz4"),
    "compression-zstd": lambda: roundtrip("kp-%s-zstd" % kafka.__version__, 1000, "zstd"),
    "offsets-for-times": offsets_for_times,
    "admin": admin_scenario,
}

if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--version":
        print("kafka-python %s" % kafka.__version__)
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
