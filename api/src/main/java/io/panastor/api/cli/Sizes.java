package io.panastor.api.cli;

import io.panastor.engine.bdev.ByteSize;
import java.util.Locale;

/** Byte counts as people read and write them: {@code 512MiB}, {@code 1GiB}, {@code 4096}. */
public final class Sizes {
    private Sizes() {
    }

    /** A size in binary units: 4096, 4k, 256M, 512MiB, 1GiB (see {@link ByteSize}). */
    public static long parse(String text) {
        return ByteSize.parse(text);
    }

    /** As {@link #parse(String)}, the error naming {@code option}. */
    public static long parse(String option, String text) {
        try {
            return parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }

    /** A picocli converter for size options and parameters: a bad size is a usage error naming it. */
    public static final class Converter implements picocli.CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String text) {
            try {
                return parse(text);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
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
