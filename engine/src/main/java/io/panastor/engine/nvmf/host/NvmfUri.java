package io.panastor.engine.nvmf.host;

import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Where a remote namespace is and how to reach it: {@code nvmf://host[:port]/nqn} (Mayastor's
 * form; {@code nvmf+tcp://} too; port 4420, the IANA NVMe/TCP port that {@code serve} listens on, when none
 * is given) with optional parameters
 * {@code nsid} (1), {@code hostnqn}, {@code hdgst} and {@code ddgst} (0/1), {@code io_timeout_ms}
 * (30000), {@code kato_ms} (10000), {@code connect_timeout_ms} (5000: how long attaching, or one
 * reconnect of the admin queue, may take from the TCP connect to a ready controller) and
 * {@code ctrlr_loss_timeout_ms} (30000; SPDK's {@code ctrlr_loss_timeout_sec}, Linux's
 * {@code ctrl_loss_tmo}: how long a lost controller is reconnected to before it is given up
 * for good — reconnecting stops, every held IO fails with ENODEV and the bdev is hot-removed;
 * 0 never gives up).
 */
public record NvmfUri(String text, String host, int port, String nqn, int nsid, String hostNqn, boolean headerDigest,
                      boolean dataDigest, int ioTimeoutMillis, int keepAliveMillis, int connectTimeoutMillis,
                      long ctrlrLossTimeoutMillis) {
    /** The IANA-assigned NVMe/TCP port: what {@code serve} listens on and a URI without a port means. */
    public static final int DEFAULT_PORT = 4420;
    public static final String DEFAULT_HOST_NQN = "nqn.2026-11.io.panastor:host";
    static final Set<String> PARAMS = Set.of("nsid", "hostnqn", "hdgst", "ddgst", "io_timeout_ms", "kato_ms", "connect_timeout_ms",
            "ctrlr_loss_timeout_ms", "uuid");
    public static final int DEFAULT_CONNECT_TIMEOUT_MILLIS = 5_000;
    /** How long a lost controller is reconnected to before the bdev is hot-removed. */
    public static final long DEFAULT_CTRLR_LOSS_TIMEOUT_MILLIS = 30_000;

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
        if (nqn.equals(NvmeOpcodes.DISCOVERY_NQN)) {
            throw BdevUri.invalid(uri.text(), "the discovery subsystem has no namespace to attach (discover instead)");
        }
        long nsid = uri.positiveLong("nsid", 1);
        if (nsid > 0xFFFFFFFEL) {
            throw BdevUri.invalid(uri.text(), "nsid " + nsid + " is out of range");
        }
        String hostNqn = uri.param("hostnqn") == null ? DEFAULT_HOST_NQN : uri.param("hostnqn");
        return new NvmfUri(uri.canonical(), host, port, nqn, (int) nsid, hostNqn, flag(uri, "hdgst"),
                flag(uri, "ddgst"), (int) Math.min(Integer.MAX_VALUE, uri.positiveLong("io_timeout_ms", 30_000)),
                (int) Math.min(Integer.MAX_VALUE, uri.positiveLong("kato_ms", 10_000)),
                (int) Math.min(Integer.MAX_VALUE, uri.positiveLong("connect_timeout_ms", DEFAULT_CONNECT_TIMEOUT_MILLIS)),
                lossTimeout(uri));
    }

    /** {@code host:port}, an IPv6 host in brackets. */
    public String address() {
        return address(host, port);
    }

    static String address(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    /** {@code ctrlr_loss_timeout_ms}: 0 (never give up) or a positive number of milliseconds. */
    private static long lossTimeout(BdevUri uri) {
        String v = uri.param("ctrlr_loss_timeout_ms");
        if ("0".equals(v)) {
            return 0;
        }
        return Math.min(TimeUnit.NANOSECONDS.toMillis(Long.MAX_VALUE / 4),
                uri.positiveLong("ctrlr_loss_timeout_ms", DEFAULT_CTRLR_LOSS_TIMEOUT_MILLIS));
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
