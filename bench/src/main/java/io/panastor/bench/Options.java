package io.panastor.bench;

import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

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

    /**
     * An option's value parsed by {@link #parse}, whose refusal (an IllegalArgumentException
     * saying what is wrong) picocli reports as {@code Invalid value for option '--bs': ...}.
     */
    abstract static class Parsed<T> implements ITypeConverter<T> {
        abstract T parse(String value);

        @Override
        public final T convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
