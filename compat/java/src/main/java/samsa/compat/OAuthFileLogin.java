package samsa.compat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.auth.SaslExtensionsCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;

/**
 * A login callback handler for OAUTHBEARER (sasl.login.callback.handler.class)
 * that hands the client a JWT read from a file, as a deployment whose tokens
 * are written by a sidecar would. The file is named by the JAAS option
 * tokenFile:
 *
 * <pre>
 * sasl.mechanism=OAUTHBEARER
 * sasl.login.callback.handler.class=samsa.compat.OAuthFileLogin
 * sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required tokenFile="/path/token";
 * </pre>
 *
 * The token is not checked here (the broker does that); its sub, iat and exp
 * claims are read only to tell the client its principal and lifetime, which
 * the client's refresh thread uses.
 */
public final class OAuthFileLogin implements AuthenticateCallbackHandler {
    private Path tokenFile;

    @Override
    public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasConfigEntries) {
        for (AppConfigurationEntry e : jaasConfigEntries) {
            Object f = e.getOptions().get("tokenFile");
            if (f != null) {
                tokenFile = Path.of(f.toString());
            }
        }
        if (tokenFile == null) {
            throw new IllegalArgumentException("OAuthFileLogin: the JAAS configuration has no tokenFile option");
        }
    }

    @Override
    public void handle(Callback[] callbacks) throws IOException, UnsupportedCallbackException {
        for (Callback c : callbacks) {
            if (c instanceof OAuthBearerTokenCallback tc) {
                tc.token(read());
            } else if (!(c instanceof SaslExtensionsCallback)) {
                // No extensions: the callback's default (none) stays.
                throw new UnsupportedCallbackException(c);
            }
        }
    }

    private OAuthBearerToken read() throws IOException {
        String jwt = Files.readString(tokenFile, StandardCharsets.US_ASCII).trim();
        String[] parts = jwt.split("\\.");
        if (parts.length != 3) {
            throw new IOException(tokenFile + " does not hold a compact JWT");
        }
        String claims = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
        String sub = claim(claims, "\"sub\"\\s*:\\s*\"([^\"]*)\"");
        long exp = Long.parseLong(claim(claims, "\"exp\"\\s*:\\s*(\\d+)"));
        String iat = claimOrNull(claims, "\"iat\"\\s*:\\s*(\\d+)");
        long now = System.currentTimeMillis();
        Long start = iat == null ? null : Long.parseLong(iat) * 1000;
        return new OAuthBearerToken() {
            @Override public String value() { return jwt; }
            @Override public Set<String> scope() { return Set.of(); }
            // An expired token is still handed over: the broker refuses it,
            // which is what the negative scenarios check.
            @Override public long lifetimeMs() { return Math.max(exp * 1000, now + 1000); }
            @Override public String principalName() { return sub; }
            @Override public Long startTimeMs() { return start; }
        };
    }

    private static String claim(String claims, String re) throws IOException {
        String v = claimOrNull(claims, re);
        if (v == null) {
            throw new IOException("the token has no claim matching " + re);
        }
        return v;
    }

    private static String claimOrNull(String claims, String re) {
        Matcher m = Pattern.compile(re).matcher(claims);
        return m.find() ? m.group(1) : null;
    }

    @Override
    public void close() {}
}
