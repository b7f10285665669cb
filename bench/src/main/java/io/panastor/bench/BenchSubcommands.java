package io.panastor.bench;

import io.panastor.api.cli.SubcommandProvider;

/** Registers {@code bench} with the panastor executable. */
public final class BenchSubcommands implements SubcommandProvider {
    @Override
    public Object command() {
        return new BenchCommand();
    }

    /** Registers {@code demo}. */
    public static final class Demo implements SubcommandProvider {
        @Override
        public Object command() {
            return new DemoCommand();
        }
    }
}
