package io.panastor.bench;

import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/** Range checks of option values whose refusal names the option and the value, as picocli's own do. */
final class Options {
    private Options() {
    }

    /** Refuses {@code option value} unless {@code ok}, saying what {@code range} it must be in. */
    static void require(CommandLine cmd, boolean ok, String option, Object value, String range) {
        if (!ok) {
            throw new ParameterException(cmd, option + " " + value + " is out of range: " + range);
        }
    }
}
