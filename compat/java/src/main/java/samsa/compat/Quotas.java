package samsa.compat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.ThrottlingQuotaExceededException;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import samsa.compat.RoundTrip.Check;

/**
 * The controller mutation quota (KIP-599) with the Java Admin client. The
 * quota (controller_mutation_rate=2 for the client id java-mutator: 2
 * partitions a second, a burst of 22) is set with alterClientQuotas; one
 * createTopics call for 8 topics of 4 partitions takes the burst, the
 * broker refuses the topics past it with THROTTLING_QUOTA_EXCEEDED, and the
 * Admin client retries them after the throttle time on its own
 * (retryOnQuotaViolation, on by default): every topic is created, seconds
 * later. With retryOnQuotaViolation(false), a topic past the bucket fails at
 * once with ThrottlingQuotaExceededException carrying the throttle time. Usage: Quotas
 * BOOTSTRAP mutation-quota.
 */
public final class Quotas {
    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !args[1].equals("mutation-quota")) {
            System.err.println("usage: Quotas BOOTSTRAP mutation-quota");
            System.exit(2);
        }
        try {
            mutationQuota(args[0]);
        } catch (Check c) {
            System.err.println("FAIL: " + c.getMessage());
            System.exit(1);
        } catch (Exception e) {
            e.printStackTrace();
            System.err.println("FAIL: " + e);
            System.exit(1);
        }
        System.out.println("ok mutation-quota");
        System.exit(0);
    }

    static void mutationQuota(String bootstrap) throws Exception {
        String id = "java-mutator";
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(p)) {
            ClientQuotaEntity entity = new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, id));
            admin.alterClientQuotas(List.of(new ClientQuotaAlteration(entity,
                    List.of(new ClientQuotaAlteration.Op("controller_mutation_rate", 2.0))))).all().get(30, TimeUnit.SECONDS);
        }
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, id);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60000);
        try (Admin admin = Admin.create(p)) {
            List<NewTopic> topics = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                topics.add(new NewTopic("java-mut-" + i, 4, (short) 1));
            }
            long t0 = System.nanoTime();
            admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            for (NewTopic t : topics) {
                RoundTrip.check(names.contains(t.name()), t.name() + " was not created");
            }
            // 32 partitions against a burst of 22 at 2 a second: the last
            // topics wait for the bucket, about 3 s in all.
            RoundTrip.check(ms >= 1500, "8 topics of 4 partitions created in " + ms + " ms: the quota did not hold any back");
            System.out.println("8 topics of 4 partitions (32 against a burst of 22) created in " + ms + " ms, the Admin client retrying");
            // The client waits out the last answer's throttle time before
            // it sends again, so the bucket is back at zero: of two topics,
            // the first is accepted (and takes it below zero), the second is
            // refused.
            var res = admin.createTopics(List.of(new NewTopic("java-mut-accepted", 2, (short) 1),
                    new NewTopic("java-mut-refused", 1, (short) 1)), new CreateTopicsOptions().retryOnQuotaViolation(false)).values();
            res.get("java-mut-accepted").get(30, TimeUnit.SECONDS);
            try {
                res.get("java-mut-refused").get(30, TimeUnit.SECONDS);
                throw new Check("a topic over the quota with retryOnQuotaViolation(false) was created");
            } catch (ExecutionException e) {
                RoundTrip.check(e.getCause() instanceof ThrottlingQuotaExceededException,
                        "with retryOnQuotaViolation(false): " + e.getCause() + ", want ThrottlingQuotaExceededException");
                int throttle = ((ThrottlingQuotaExceededException) e.getCause()).throttleTimeMs();
                RoundTrip.check(throttle > 0 && throttle <= 5500, "ThrottlingQuotaExceededException.throttleTimeMs() = " + throttle);
                System.out.println("refused as expected: " + e.getCause() + " (throttleTimeMs " + throttle + ")");
            }
            RoundTrip.check(!admin.listTopics().names().get(30, TimeUnit.SECONDS).contains("java-mut-refused"),
                    "the refused topic exists");
        }
    }
}
