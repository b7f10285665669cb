package io.panastor.engine.nvmf.host;

import io.panastor.engine.bdev.BdevUri;
import java.util.Set;

/**
 * Where a remote namespace is and how to reach it: {@code nvmf://host[:port]/nqn} (Mayastor's
 * form; {@code nvmf+tcp://} too; port 8420 when none is given) with optional parameters
 * {@code nsid} (1), {@code hostnqn}, {@code hdgst} and {@code ddgst} (0/1), {@code io_timeout_ms}
 * (30000), {@code kato_ms} (10000) and {@code connect_timeout_ms} (5000: how long attaching, or one
 * reconnect of the admin queue, may take from the TCP connect to a ready controller).
 */
public record NvmfUri(String text, String host, int port, String nqn, int nsid, String hostNqn, boolean headerDigest,
                      boolean dataDigest, int ioTimeoutMillis, int keepAliveMillis, int connectTimeoutMillis) {
    public static final int DEFAULT_PORT = 8420;
    public static final String DEFAULT_HOST_NQN = "nqn.2026-11.io.panastor:host";
    static final Set<String> PARAMS = Set.of("nsid", "hostnqn", "hdgst", "ddgst", "io_timeout_ms", "kato_ms", "connect_timeout_ms", "uuid");
    public static final int DEFAULT_CONNECT_TIMEOUT_MILLIS = 5_000;

    public static NvmfUri of(BdevUri uri) {
        uri.requireOnly(PARAMS);
        String authority = uri.host();
        if (authority.isEmpty()) {
            throw BdevUri.invalid(uri.text(), "an nvmf bdev needs a host: nvmf://HOST[:PORT]/NQN");
        }
        String host = authority;
        int port = DEFAULT_PORT;
        int colon = authority.lastIndexOf(':');
        if (colon >= 0) {
            host = authority.substring(0, colon);
            try {
                port = Integer.parseInt(authority.substring(colon + 1));
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 1 || port > 65535) {
                throw BdevUri.invalid(uri.text(), "bad port in '" + authority + "'");
            }
        }
        String nqn = uri.path().startsWith("/") ? uri.path().substring(1) : uri.path();
        if (!nqn.startsWith("nqn.")) {
            throw BdevUri.invalid(uri.text(), "the path must be the subsystem NQN (nqn....), got '" + nqn + "'");
        }
        long nsid = uri.positiveLong("nsid", 1);
        if (nsid > 0xFFFFFFFEL) {
            throw BdevUri.invalid(uri.text(), "nsid " + nsid + " is out of range");
        }
        String hostNqn = uri.param("hostnqn") == null ? DEFAULT_HOST_NQN : uri.param("hostnqn");
        return new NvmfUri(uri.canonical(), host, port, nqn, (int) nsid, hostNqn, flag(uri, "hdgst"),
                flag(uri, "ddgst"), (int) Math.min(Integer.MAX_VALUE, uri.positiveLong("io_timeout_ms", 30_000)),
                (int) Math.min(Integer.MAX_VALUE, uri.positiveLong("kato_ms", 10_000)),
                (int) Math.min(Integer.MAX_VALUE, uri.positiveLong("connect_timeout_ms", DEFAULT_CONNECT_TIMEOUT_MILLIS)));
    }

    private static boolean flag(BdevUri uri, String key) {
        String v = uri.param(key);
        if (v == null || v.equals("0") || v.equalsIgnoreCase("false")) {
            return false;
        }
        if (v.equals("1") || v.equalsIgnoreCase("true")) {
            return true;
        }
        throw BdevUri.invalid(uri.text(), "parameter " + key + " must be 0 or 1, got '" + v + "'");
    }
}
