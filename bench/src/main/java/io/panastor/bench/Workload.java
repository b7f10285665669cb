package io.panastor.bench;

import java.util.Locale;

/** What a load does: access pattern, IO size, depth, read share, verification. */
record Workload(Mode mode, int ioSize, int depth, int readPercent, boolean verify) {

    /** fio's names for the access patterns. */
    enum Mode {
        READ(true, false),
        WRITE(false, false),
        RANDREAD(true, true),
        RANDWRITE(false, true),
        RANDRW(true, true),
        RW(true, false);

        final boolean reads;
        final boolean random;

        Mode(boolean reads, boolean random) {
            this.reads = reads;
            this.random = random;
        }

        static Mode parse(String text) {
            try {
                return valueOf(text.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown --rw '" + text
                        + "' (read, write, randread, randwrite, randrw, rw)");
            }
        }

        String fioName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Percent of IOs that read: 100 for read modes, 0 for write modes, {@code mix} for rw modes. */
        int readPercent(int mix) {
            return switch (this) {
                case READ, RANDREAD -> 100;
                case WRITE, RANDWRITE -> 0;
                case RANDRW, RW -> mix;
            };
        }
    }

    /** Percent of IOs that read: 100 for read modes, 0 for write modes, the mix for rw modes. */
    int effectiveReadPercent() {
        return mode.readPercent(readPercent);
    }
}
