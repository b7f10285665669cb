package io.panastor.bench;

import java.util.Locale;

/** Whole seconds as people write them: 10, 10s, 2m, 1h (a bare number is seconds). */
final class Durations {
    private Durations() {
    }

    /** An option's duration in seconds; picocli names the option when it is malformed. */
    static final class Converter extends Options.Parsed<Integer> {
        @Override
        Integer parse(String value) {
            return parseSeconds(value);
        }
    }

    static int parseSeconds(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        int unit = 1;
        if (t.endsWith("s")) {
            t = t.substring(0, t.length() - 1);
        } else if (t.endsWith("m")) {
            unit = 60;
            t = t.substring(0, t.length() - 1);
        } else if (t.endsWith("h")) {
            unit = 3600;
            t = t.substring(0, t.length() - 1);
        }
        try {
            long n = Long.parseLong(t);
            if (n < 0 || n * unit > Integer.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return (int) (n * unit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (write whole seconds, e.g. 10, 30s, 2m)");
        }
    }
}
