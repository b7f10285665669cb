package io.panastor.api.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;

/**
 * A command that talks to a running engine. Exit codes scripts can rely on: 0 done; 1 the
 * engine refused (one line on stderr: the gRPC code and the engine's message); 2 a usage error
 * (picocli's); 3 no engine answered at {@code --engine}.
 */
abstract class ClientCommand implements Callable<Integer> {
    static final int REFUSED = CallFailures.REFUSED;
    static final int UNREACHABLE = CallFailures.UNREACHABLE;

    @Mixin
    EngineOptions options;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Does the command's work over {@code channel}; returns its exit code. */
    abstract int run(ManagedChannel channel, Deadline deadline) throws Exception;

    @Override
    public final Integer call() throws Exception {
        ManagedChannel ch = options.channel();
        try {
            return run(ch, Deadline.after(options.timeoutSeconds, TimeUnit.SECONDS));
        } catch (StatusRuntimeException e) {
            return fail(e);
        } finally {
            EngineOptions.close(ch);
        }
    }

    private int fail(StatusRuntimeException e) {
        return CallFailures.report(e, spec.commandLine().getErr(), spec.qualifiedName(), "an engine at " + options.engine,
                "is `panastor engine` running there?", options.timeoutSeconds);
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** With {@code -o json}, {@code m} as JSON; else what {@code text} prints (a table, a URI). */
    void print(MessageOrBuilder m, Runnable text) {
        if (options.json()) {
            printJson(m);
        } else {
            text.run();
        }
    }

    /** Prints {@code m} as JSON (proto field names, every field), for {@code -o json}. */
    void printJson(MessageOrBuilder m) {
        try {
            out().println(JsonFormat.printer().preservingProtoFieldNames().alwaysPrintFieldsWithNoPresence().print(m));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
        out().flush();
    }
}
