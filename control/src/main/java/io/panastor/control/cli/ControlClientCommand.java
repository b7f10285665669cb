package io.panastor.control.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import io.panastor.api.client.CallFailures;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;

/**
 * A command that talks to the control plane. Exit codes as the engine commands': 0 done; 1 the
 * control plane refused (one stderr line: the gRPC code and its message); 2 a usage error; 3 no
 * control plane answered at {@code --control-plane}.
 */
abstract class ControlClientCommand implements Callable<Integer> {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    ControlOptions options;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    abstract int run(ManagedChannel channel, Deadline deadline) throws Exception;

    @Override
    public final Integer call() throws Exception {
        ManagedChannel ch = options.channel();
        try {
            return run(ch, Deadline.after(options.timeoutSeconds, TimeUnit.SECONDS));
        } catch (StatusRuntimeException e) {
            return CallFailures.report(e, spec.commandLine().getErr(), spec.qualifiedName(),
                    "a control plane at " + options.controlPlane, "is `panastor control-plane` running there?",
                    options.timeoutSeconds);
        } finally {
            ch.shutdownNow();
            ch.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** With {@code -o json} or {@code -o yaml}, {@code m} in that form (proto field names); else {@code text}. */
    void print(MessageOrBuilder m, Runnable text) {
        if (options.output == ControlOptions.Format.table) {
            text.run();
            return;
        }
        String json;
        try {
            json = JsonFormat.printer().preservingProtoFieldNames().alwaysPrintFieldsWithNoPresence().print(m);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
        if (options.output == ControlOptions.Format.yaml) {
            try {
                JsonNode tree = JSON.readTree(json);
                out().print(YAML.writeValueAsString(tree));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        } else {
            out().println(json);
        }
        out().flush();
    }

    static String lower(Enum<?> e, String prefix) {
        String n = e.name();
        n = n.startsWith(prefix) ? n.substring(prefix.length()) : n;
        return n.isEmpty() ? n : n.charAt(0) + n.substring(1).toLowerCase(java.util.Locale.ROOT);
    }
}
