package io.panastor.api.client;

import picocli.CommandLine;

/** A command that only groups subcommands ({@code bdev}, {@code host}): alone, a usage error naming them. */
public abstract class CommandGroup implements Runnable {
    @CommandLine.Spec
    protected CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), spec.name() + " needs a subcommand: "
                + String.join(", ", spec.subcommands().keySet()));
    }
}
