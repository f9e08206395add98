package samsa.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import samsa.compat.RoundTrip.Check;

/**
 * The Java client against the security listeners of compat/run.sh: SSL with a
 * JKS trust store made by keytool, SASL_SSL with SCRAM-SHA-512, mTLS with a
 * PKCS12 key store made by openssl, and the refusals (a wrong password:
 * SaslAuthenticationException; no client certificate on the mTLS listener:
 * SslAuthenticationException). Usage: Security SCENARIO; the listeners,
 * stores and users come from the environment the scenario exports
 * (BOOTSTRAP_SSL, BOOTSTRAP_SASL, BOOTSTRAP_SASL_SSL, BOOTSTRAP_MTLS, TLS_DIR,
 * TLS_PASSWORD, SCRAM_USER, SCRAM_PASSWORD, PLAIN_USER, PLAIN_PASSWORD).
 */
public final class Security {
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: Security SCENARIO");
            System.exit(2);
        }
        String scenario = args[0];
        try {
            switch (scenario) {
                case "ssl-jks-truststore" -> roundTrip("java-sec-ssl", env("BOOTSTRAP_SSL"), ssl("JKS", "truststore.jks"));
                case "sasl-ssl-scram-sha-512" -> roundTrip("java-sec-sasl-ssl", env("BOOTSTRAP_SASL_SSL"),
                        sasl("SASL_SSL", "SCRAM-SHA-512", env("SCRAM_USER"), env("SCRAM_PASSWORD")));
                case "mtls-pkcs12-keystore" -> roundTrip("java-sec-mtls", env("BOOTSTRAP_MTLS"), mtls());
                case "sasl-wrong-password" -> wrongPassword();
                case "sasl-oauthbearer" -> roundTrip("java-sec-oauth", env("BOOTSTRAP_SASL"),
                        oauth("SASL_PLAINTEXT", env("OAUTH_TOKENS") + "/good"));
                case "sasl-ssl-oauthbearer" -> roundTrip("java-sec-oauth-ssl", env("BOOTSTRAP_SASL_SSL"),
                        oauth("SASL_SSL", env("OAUTH_TOKENS") + "/good"));
                case "oauthbearer-refused" -> oauthRefused();
                case "sasl-oauthbearer-kafka-handler" -> roundTrip("java-sec-oauth-kafka", env("BOOTSTRAP_SASL"),
                        oauthKafkaHandler(env("OAUTH_TOKENS") + "/good"));
                case "mtls-no-client-cert" -> expectRefused("the mTLS listener without a client certificate",
                        env("BOOTSTRAP_MTLS"), ssl("JKS", "truststore.jks"), SslAuthenticationException.class, "");
                default -> throw new Check("unknown scenario " + scenario);
            }
        } catch (Check c) {
            System.err.println("FAIL: " + c.getMessage());
            System.exit(1);
        } catch (Exception e) {
            e.printStackTrace();
            System.err.println("FAIL: " + e);
            System.exit(1);
        }
        System.out.println("ok " + scenario);
        System.exit(0);
    }

    static String env(String name) throws Check {
        String v = System.getenv(name);
        RoundTrip.check(v != null && !v.isEmpty(), "$" + name + " is not set (run by compat/run.sh?)");
        return v;
    }

    /** SSL with the CA in a trust store of the given type made by keytool. */
    static Properties ssl(String type, String file) throws Check {
        Properties p = new Properties();
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
        trust(p, type, file);
        return p;
    }

    static void trust(Properties p, String type, String file) throws Check {
        p.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, type);
        p.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, env("TLS_DIR") + "/" + file);
        p.put(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, env("TLS_PASSWORD"));
        // Left at its default on purpose: ssl.endpoint.identification.algorithm=https,
        // checked against the broker certificate's IP:127.0.0.1.
    }

    /** The client's certificate in a PKCS12 key store made by openssl, the CA in a PKCS12 trust store. */
    static Properties mtls() throws Check {
        Properties p = new Properties();
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
        trust(p, "PKCS12", "truststore.p12");
        p.put(SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, "PKCS12");
        p.put(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, env("TLS_DIR") + "/client.p12");
        p.put(SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG, env("TLS_PASSWORD"));
        return p;
    }

    static Properties sasl(String protocol, String mechanism, String user, String password) throws Check {
        Properties p = new Properties();
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, protocol);
        if (protocol.equals("SASL_SSL")) {
            trust(p, "PKCS12", "truststore.p12");
        }
        p.put(SaslConfigs.SASL_MECHANISM, mechanism);
        String module = mechanism.equals("PLAIN")
                ? "org.apache.kafka.common.security.plain.PlainLoginModule"
                : "org.apache.kafka.common.security.scram.ScramLoginModule";
        p.put(SaslConfigs.SASL_JAAS_CONFIG,
                module + " required username=\"" + user + "\" password=\"" + password + "\";");
        return p;
    }

    /**
     * OAUTHBEARER with Kafka's login module and OAuthFileLogin as the login
     * callback handler: the token is the one in tokenFile.
     */
    static Properties oauth(String protocol, String tokenFile) throws Check {
        Properties p = new Properties();
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, protocol);
        if (protocol.equals("SASL_SSL")) {
            trust(p, "PKCS12", "truststore.p12");
        }
        p.put(SaslConfigs.SASL_MECHANISM, "OAUTHBEARER");
        p.put(SaslConfigs.SASL_LOGIN_CALLBACK_HANDLER_CLASS, OAuthFileLogin.class.getName());
        p.put(SaslConfigs.SASL_JAAS_CONFIG,
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required tokenFile=\"" + tokenFile + "\";");
        return p;
    }

    /**
     * OAUTHBEARER with nothing of ours: Kafka's own OAuthBearerLoginCallbackHandler
     * reading the token from a file (sasl.oauthbearer.token.endpoint.url=file:...),
     * which Kafka 4 allows only for URLs listed in the system property
     * org.apache.kafka.sasl.oauthbearer.allowed.urls.
     */
    static Properties oauthKafkaHandler(String tokenFile) {
        String url = java.nio.file.Path.of(tokenFile).toUri().toString();
        System.setProperty("org.apache.kafka.sasl.oauthbearer.allowed.urls", url);
        Properties p = new Properties();
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        p.put(SaslConfigs.SASL_MECHANISM, "OAUTHBEARER");
        p.put(SaslConfigs.SASL_LOGIN_CALLBACK_HANDLER_CLASS,
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler");
        p.put(SaslConfigs.SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL, url);
        p.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;");
        return p;
    }

    /**
     * An expired token, one signed by a key the broker's JWKS does not hold,
     * and one for another audience: each refused (SaslAuthenticationException,
     * the broker's SASL_AUTHENTICATION_FAILED) on both SASL listeners, for the
     * Admin client and a producer (which writes to java-sec-oauth-refused; the
     * scenario checks afterwards that it holds nothing).
     */
    static void oauthRefused() throws Exception {
        String msg = "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER";
        for (String token : List.of("expired", "forged", "wrong-audience")) {
            expectRefused("OAUTHBEARER over SASL_PLAINTEXT, a token " + token, env("BOOTSTRAP_SASL"),
                    oauth("SASL_PLAINTEXT", env("OAUTH_TOKENS") + "/" + token), SaslAuthenticationException.class, msg,
                    "java-sec-oauth-refused");
        }
        expectRefused("OAUTHBEARER over SASL_SSL, an expired token", env("BOOTSTRAP_SASL_SSL"),
                oauth("SASL_SSL", env("OAUTH_TOKENS") + "/expired"), SaslAuthenticationException.class, msg,
                "java-sec-oauth-refused");
    }

    static Properties with(Properties security, String bootstrap) {
        Properties p = new Properties();
        p.putAll(security);
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return p;
    }

    /**
     * Through one listener: the Admin client creates a topic and sees the
     * broker at that listener's address; a producer (idempotent, acks=all)
     * writes n keyed records; a consumer with assign() reads them back, each at
     * its acknowledged offset.
     */
    static void roundTrip(String topic, String bootstrap, Properties security) throws Exception {
        int partitions = 3, n = 600;
        try (Admin admin = Admin.create(with(security, bootstrap))) {
            Collection<Node> nodes = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS);
            RoundTrip.check(nodes.size() == 1, "describeCluster: " + nodes);
            Node node = nodes.iterator().next();
            RoundTrip.check((node.host() + ":" + node.port()).equals(bootstrap),
                    "the broker is advertised as " + node.host() + ":" + node.port() + " through " + bootstrap);
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        Properties pp = with(security, bootstrap);
        pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        Map<Integer, List<String>> sent = new HashMap<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
            List<Future<RecordMetadata>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(producer.send(new ProducerRecord<>(topic, "key-" + (i % 17), "value-" + i)));
            }
            for (int i = 0; i < n; i++) {
                RecordMetadata md = futures.get(i).get(30, TimeUnit.SECONDS);
                List<String> part = sent.computeIfAbsent(md.partition(), k -> new ArrayList<>());
                RoundTrip.check(md.offset() == part.size(),
                        "record " + i + " acknowledged at " + md.partition() + "/" + md.offset() + ", want offset " + part.size());
                part.add("key-" + (i % 17) + "=value-" + i);
            }
        }
        RoundTrip.check(sent.size() > 1, "every record in one partition");
        Properties cp = with(security, bootstrap);
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        Map<Integer, List<String>> got = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            int count = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            while (count < n) {
                RoundTrip.check(System.currentTimeMillis() < deadline, "consumed " + count + " of " + n + " in 60s");
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    List<String> part = got.computeIfAbsent(r.partition(), k -> new ArrayList<>());
                    RoundTrip.check(r.offset() == part.size(), "partition " + r.partition() + ": offset " + r.offset() + " after " + part.size() + " records");
                    part.add(r.key() + "=" + r.value());
                    count++;
                }
            }
            RoundTrip.check(consumer.poll(Duration.ofMillis(500)).isEmpty(), "records beyond the " + n + " produced");
        }
        for (var e : sent.entrySet()) {
            RoundTrip.check(e.getValue().equals(got.get(e.getKey())), "partition " + e.getKey() + ": records read back differ from those acknowledged");
        }
        System.out.println(n + " records over " + sent.size() + " partitions through " + bootstrap);
    }

    static void wrongPassword() throws Exception {
        String msg = "Authentication failed during authentication due to invalid credentials with SASL mechanism ";
        expectRefused("SCRAM-SHA-512 over SASL_SSL, a wrong password", env("BOOTSTRAP_SASL_SSL"),
                sasl("SASL_SSL", "SCRAM-SHA-512", env("SCRAM_USER"), "not-the-password"),
                SaslAuthenticationException.class, msg + "SCRAM-SHA-512");
        expectRefused("SCRAM-SHA-256 over SASL_PLAINTEXT, an unknown user", env("BOOTSTRAP_SASL"),
                sasl("SASL_PLAINTEXT", "SCRAM-SHA-256", "nobody", env("SCRAM_PASSWORD")),
                SaslAuthenticationException.class, msg + "SCRAM-SHA-256");
        expectRefused("PLAIN over SASL_PLAINTEXT, a wrong password", env("BOOTSTRAP_SASL"),
                sasl("SASL_PLAINTEXT", "PLAIN", env("PLAIN_USER"), "not-the-password"),
                SaslAuthenticationException.class, msg + "PLAIN");
    }

    /**
     * The Admin client's first call and a producer's first send must both fail
     * with the client's own exception (not a time-out), whose message contains
     * msgPart.
     */
    static void expectRefused(String what, String bootstrap, Properties security, Class<? extends Exception> want, String msgPart)
            throws Exception {
        expectRefused(what, bootstrap, security, want, msgPart, "java-sec-refused");
    }

    static void expectRefused(String what, String bootstrap, Properties security, Class<? extends Exception> want, String msgPart,
            String topic) throws Exception {
        Properties ap = with(security, bootstrap);
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20000);
        ap.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
        try (Admin admin = Admin.create(ap)) {
            admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
            throw new Check(what + ": the Admin client's describeCluster succeeded");
        } catch (ExecutionException e) {
            checkCause(what + ": Admin.describeCluster", e.getCause(), want, msgPart);
        }
        Properties pp = with(security, bootstrap);
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20000);
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
            producer.send(new ProducerRecord<>(topic, "k", "v")).get(30, TimeUnit.SECONDS);
            throw new Check(what + ": a producer's send succeeded");
        } catch (ExecutionException e) {
            checkCause(what + ": KafkaProducer.send", e.getCause(), want, msgPart);
        } catch (org.apache.kafka.common.KafkaException e) {
            checkCause(what + ": KafkaProducer.send", e, want, msgPart);
        }
    }

    static void checkCause(String what, Throwable got, Class<? extends Exception> want, String msgPart) throws Check {
        RoundTrip.check(want.isInstance(got), what + ": got " + got + ", want " + want.getSimpleName());
        RoundTrip.check(got.getMessage() != null && got.getMessage().contains(msgPart),
                what + ": message [" + got.getMessage() + "], want it to contain [" + msgPart + "]");
        System.out.println(what + ": refused as expected: " + got);
    }
}
