package io.panastor.engine.bdev;

import java.util.Locale;

/**
 * Sizes as people write them, in binary units, the one parser every size goes through (bdev
 * URIs' {@code size=}, the command line's options): {@code 4096}, {@code 4k}, {@code 256M},
 * {@code 512MiB}, {@code 1GiB}, {@code 2T}; {@code KB}, {@code MB}, ... mean the same powers of 1024.
 */
public final class ByteSize {
    private ByteSize() {
    }

    /** The bytes {@code text} says, at least 1; an {@link IllegalArgumentException} saying how to write one otherwise. */
    public static long parse(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        if (t.endsWith("ib")) {
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("b") && t.length() > 1 && !Character.isDigit(t.charAt(t.length() - 2))) {
            t = t.substring(0, t.length() - 1);
        }
        int shift = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            case 't' -> 40;
            default -> 0;
        };
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        try {
            long n = Long.parseLong(digits);
            if (n <= 0 || n > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: '" + text + "' (write e.g. 4096, 4k, 256M, 512MiB, 1GiB)");
        }
    }
}
