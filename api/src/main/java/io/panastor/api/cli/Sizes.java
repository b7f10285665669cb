package io.panastor.api.cli;

import java.util.Locale;

/** Byte counts as people read and write them: {@code 512MiB}, {@code 1GiB}, {@code 4096}. */
public final class Sizes {
    private Sizes() {
    }

    /** Parses {@code 4096}, {@code 4KiB}, {@code 512MiB}, {@code 1GiB}, {@code 2TiB} (also K/M/G/T, KB.. as powers of 1000). */
    public static long parse(String option, String text) {
        String t = text == null ? "" : text.strip();
        int i = 0;
        while (i < t.length() && Character.isDigit(t.charAt(i))) {
            i++;
        }
        if (i == 0) {
            throw new IllegalArgumentException(option + " takes a size (4096, 512MiB, 1GiB), got '" + text + "'");
        }
        long n;
        try {
            n = Long.parseLong(t.substring(0, i));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": '" + text + "' is too large");
        }
        long unit = switch (t.substring(i).strip().toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1L;
            case "k", "kib" -> 1L << 10;
            case "m", "mib" -> 1L << 20;
            case "g", "gib" -> 1L << 30;
            case "t", "tib" -> 1L << 40;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            case "tb" -> 1_000_000_000_000L;
            default -> throw new IllegalArgumentException(option + ": unknown unit in '" + text
                    + "' (use B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)");
        };
        if (n > Long.MAX_VALUE / unit) {
            throw new IllegalArgumentException(option + ": '" + text + "' is too large");
        }
        return n * unit;
    }

    /** {@code bytes} for a table: the largest binary unit that keeps it at or above 1 ({@code 64MiB}, {@code 1.5GiB}). */
    public static String format(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return (v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v)) + units[u];
    }
}
