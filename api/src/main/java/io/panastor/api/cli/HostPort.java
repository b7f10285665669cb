package io.panastor.api.cli;

/**
 * An address as typed on a command line, {@code host:port}, {@code [v6]:port}, or a bare
 * {@code :port} or {@code port} meaning every address of this host at that port.
 */
public record HostPort(String host, int port) {
    public HostPort {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not in 0..65535");
        }
    }

    /**
     * Parses {@code text} for {@code option} (named in the error); a missing host means
     * {@code defaultHost}.
     */
    public static HostPort parse(String option, String text, String defaultHost) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException(option + " takes host:port, got nothing");
        }
        String t = text.strip();
        int colon = t.lastIndexOf(':');
        String host = colon < 0 ? "" : t.substring(0, colon);
        String port = colon < 0 ? t : t.substring(colon + 1);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " takes host:port, got '" + text + "': '" + port
                    + "' is not a port number");
        }
        if (p < 0 || p > 65535) {
            throw new IllegalArgumentException(option + ": port " + p + " in '" + text + "' is not in 0..65535");
        }
        return new HostPort(host.isEmpty() ? defaultHost : host, p);
    }

    /** Picocli converter: a missing host means every address of this host (for listeners). */
    public static class AnyHost implements picocli.CommandLine.ITypeConverter<HostPort> {
        private final String defaultHost;

        public AnyHost() {
            this("0.0.0.0");
        }

        AnyHost(String defaultHost) {
            this.defaultHost = defaultHost;
        }

        @Override
        public HostPort convert(String value) {
            try {
                return parse("address", value, defaultHost);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage().replaceFirst("^address ", ""));
            }
        }
    }

    /** Picocli converter: a missing host means loopback (for the address of a server to call). */
    public static final class Loopback extends AnyHost {
        public Loopback() {
            super("127.0.0.1");
        }
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
