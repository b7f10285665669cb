package io.panastor.engine.bdev;

import io.panastor.engine.error.EngineException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * A parsed bdev URI, in the forms Mayastor accepts: {@code scheme://[host[:port]]/path?k=v&...},
 * or a bare absolute path (a file or block device, served by the uring kind). Parsing checks
 * syntax only; each {@link BdevFactory} checks its own parameters with {@link #param} and
 * {@link #requireOnly}, so that every mistake is reported with the URI and what to fix.
 */
public record BdevUri(String text, String scheme, String host, String path, Map<String, String> params) {

    /** The scheme a bare path is served by. */
    public static final String BARE_PATH_SCHEME = "uring";

    public static BdevUri parse(String text) {
        if (text == null || text.isBlank()) {
            throw invalid(String.valueOf(text), "a bdev URI is required, e.g. malloc:///m0?size_mb=64");
        }
        String t = text.strip();
        if (t.startsWith("/")) {
            return new BdevUri(t, BARE_PATH_SCHEME, "", decode(t, t), Map.of());
        }
        int sep = t.indexOf("://");
        if (sep <= 0) {
            throw invalid(t, "not a URI: expected scheme://... (e.g. malloc:///m0?size_mb=64) or an absolute path");
        }
        String scheme = t.substring(0, sep).toLowerCase(java.util.Locale.ROOT);
        if (!scheme.matches("[a-z][a-z0-9+.-]*")) {
            throw invalid(t, "malformed scheme '" + scheme + "'");
        }
        String rest = t.substring(sep + 3);
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        int slash = rest.indexOf('/');
        String host = slash < 0 ? rest : rest.substring(0, slash);
        String path = slash < 0 ? "" : decode(t, rest.substring(slash));
        Map<String, String> params = new LinkedHashMap<>();
        if (!query.isEmpty()) {
            for (String pair : query.split("&", -1)) {
                int eq = pair.indexOf('=');
                if (pair.isEmpty() || eq <= 0) {
                    throw invalid(t, "malformed parameter '" + pair + "': expected key=value");
                }
                String key = decode(t, pair.substring(0, eq));
                if (params.put(key, decode(t, pair.substring(eq + 1))) != null) {
                    throw invalid(t, "parameter '" + key + "' is given twice");
                }
            }
        }
        return new BdevUri(t, scheme, host, path, Collections.unmodifiableMap(params));
    }

    private static String decode(String uri, String s) {
        try {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw invalid(uri, "bad percent-encoding in '" + s + "'");
        }
    }

    /**
     * The URI in one spelling per bdev: a bare path becomes {@code uring://PATH}, parameters
     * keep their order. Two URIs with the same canonical form describe the same bdev.
     */
    public String canonical() {
        StringBuilder b = new StringBuilder(scheme).append("://").append(host).append(path);
        char sep = '?';
        for (Map.Entry<String, String> e : params.entrySet()) {
            b.append(sep).append(e.getKey()).append('=').append(e.getValue());
            sep = '&';
        }
        return b.toString();
    }

    /** The single path segment that names a memory-backed bdev: {@code malloc:///NAME}. */
    public String simpleName() {
        if (!host.isEmpty()) {
            throw invalid(text, "a " + scheme + " bdev takes no host: write " + scheme + ":///NAME");
        }
        String name = path.startsWith("/") ? path.substring(1) : path;
        if (name.isEmpty() || name.contains("/")) {
            throw invalid(text, "expected " + scheme + ":///NAME with a name and no further '/'");
        }
        return name;
    }

    /** The absolute path of a file-backed bdev: {@code uring:///dev/sdb} or {@code /dev/sdb}. */
    public String filePath() {
        if (!host.isEmpty()) {
            throw invalid(text, "a " + scheme + " bdev takes no host: write " + scheme + ":///ABSOLUTE/PATH");
        }
        if (path.length() < 2 || !path.startsWith("/")) {
            throw invalid(text, "expected an absolute path to a file or block device");
        }
        return path;
    }

    /** Refuses any parameter not in {@code allowed}. */
    public void requireOnly(Set<String> allowed) {
        for (String key : params.keySet()) {
            if (!allowed.contains(key)) {
                throw invalid(text, "unknown parameter '" + key + "' for " + scheme + " bdevs (allowed: "
                        + String.join(", ", new TreeSet<>(allowed)) + ")");
            }
        }
    }

    public String param(String key) {
        return params.get(key);
    }

    /** A positive integer parameter, or {@code fallback} when absent. */
    public long positiveLong(String key, long fallback) {
        String v = params.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            long n = Long.parseLong(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw invalid(text, "parameter " + key + " must be a positive integer, got '" + v + "'");
    }

    /** A non-negative integer parameter (0 allowed), or {@code fallback} when absent. */
    public long nonNegativeLong(String key, long fallback) {
        String v = params.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            long n = Long.parseLong(v);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw invalid(text, "parameter " + key + " must be a non-negative integer, got '" + v + "'");
    }

    /** A block size parameter: a power of two from 512 to 65536, or {@code fallback}. */
    public int blockSize(String key, int fallback) {
        long b = positiveLong(key, fallback);
        if (b < 512 || b > 65536 || Long.bitCount(b) != 1) {
            throw invalid(text, "parameter " + key + " must be a power of two from 512 to 65536, got " + b);
        }
        return (int) b;
    }

    /** The {@code uuid} parameter, or a random UUID. */
    public UUID uuidOrRandom() {
        String v = params.get("uuid");
        if (v == null) {
            return UUID.randomUUID();
        }
        try {
            return UUID.fromString(v);
        } catch (IllegalArgumentException e) {
            throw invalid(text, "parameter uuid is not a UUID: '" + v + "'");
        }
    }

    public static BdevException invalid(String uri, String what) {
        return new BdevException(EngineException.Reason.INVALID_ARGUMENT, "invalid bdev URI '" + uri + "': " + what);
    }

    @Override
    public String toString() {
        return text;
    }
}
