package io.panastor.bench;

/** Byte sizes as people write them: 4k, 256M, 1G, 512MiB, 1GiB, 512 (binary units). */
final class Sizes {
    /** An option's size; picocli names the option when it is malformed. */
    static final class Converter extends Options.Parsed<Long> {
        @Override
        Long parse(String value) {
            return Sizes.parse(value);
        }
    }

    private Sizes() {
    }

    /** A size in binary units (4096, 4k, 256M, 512MiB, 1GiB), as everywhere in the command line. */
    static long parse(String text) {
        return io.panastor.api.cli.Sizes.parse(text);
    }

    static String format(long bytes) {
        if (bytes >= 1L << 30 && bytes % (1L << 30) == 0) {
            return (bytes >> 30) + " GiB";
        }
        if (bytes >= 1L << 20 && bytes % (1L << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        if (bytes >= 1L << 10 && bytes % (1L << 10) == 0) {
            return (bytes >> 10) + " KiB";
        }
        return bytes + " B";
    }
}
