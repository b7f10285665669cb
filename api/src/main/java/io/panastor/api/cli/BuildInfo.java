package io.panastor.api.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The version and commit this build was made from (build.properties, filled by Maven). */
public record BuildInfo(String version, String commit) {
    private static final BuildInfo CURRENT = load();

    public static BuildInfo current() {
        return CURRENT;
    }

    private static BuildInfo load() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("/io/panastor/api/build.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String version = value(p, "version", "development");
        String commit = value(p, "commit", "unknown");
        if (!commit.equals("unknown") && "true".equals(p.getProperty("dirty"))) {
            commit += "-dirty";
        }
        return new BuildInfo(version, commit);
    }

    /** A property Maven filled in, or {@code fallback} (unfiltered, or built without git). */
    private static String value(Properties p, String key, String fallback) {
        String v = p.getProperty(key, "").strip();
        return v.isEmpty() || v.startsWith("${") ? fallback : v;
    }

    @Override
    public String toString() {
        return version + " (commit " + commit + ")";
    }
}
