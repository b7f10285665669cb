package io.panastor.api.client;

import com.google.protobuf.Empty;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.panastor.api.cli.Sizes;
import io.panastor.api.v1.BdevIoStatsResponse;
import io.panastor.api.v1.IoStats;
import io.panastor.api.v1.ListStatsOption;
import io.panastor.api.v1.StatsRpcGrpc;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code panastor stats [NAME] [--reset]}: the engine's IO counters per bdev. */
@Command(name = "stats", mixinStandardHelpOptions = true,
        description = "IO counters and latencies per bdev on a running engine; --reset zeroes them (after printing).")
public final class StatsCommand extends ClientCommand {
    @Parameters(paramLabel = "NAME", arity = "0..1", description = "Only this bdev")
    String name;

    @Option(names = "--reset", description = "Zero every counter on the engine after printing them")
    boolean reset;

    @Override
    int run(ManagedChannel ch, Deadline d) {
        StatsRpcGrpc.StatsRpcBlockingStub stats = StatsRpcGrpc.newBlockingStub(ch).withDeadline(d);
        ListStatsOption.Builder req = ListStatsOption.newBuilder();
        if (name != null) {
            req.setName(name);
        }
        BdevIoStatsResponse r = stats.getBdevIoStats(req.build());
        if (options.json()) {
            printJson(r);
        } else {
            Table t = new Table("NAME", "READS", "READ", "WRITES", "WRITTEN", "UNMAPS", "ERRORS",
                    "READ AVG us", "READ MAX us", "WRITE AVG us", "WRITE MAX us");
            for (IoStats s : r.getStatsList()) {
                t.row(s.getName(), s.getNumReadOps(), Sizes.format(s.getBytesRead()), s.getNumWriteOps(),
                        Sizes.format(s.getBytesWritten()), s.getNumUnmapOps(), s.getNumErrors(),
                        micros(s.getReadLatencyTicks(), s.getNumReadOps(), s.getTickRate()),
                        micros(s.getMaxReadLatencyTicks(), 1, s.getTickRate()),
                        micros(s.getWriteLatencyTicks(), s.getNumWriteOps(), s.getTickRate()),
                        micros(s.getMaxWriteLatencyTicks(), 1, s.getTickRate()));
            }
            t.print(out());
        }
        if (reset) {
            stats.resetIoStats(Empty.getDefaultInstance());
        }
        return 0;
    }

    /** {@code ticks / ops} in microseconds, one decimal. */
    static String micros(long ticks, long ops, long tickRate) {
        if (ops == 0 || tickRate == 0) {
            return "0";
        }
        return String.format(Locale.ROOT, "%.1f", ticks * 1e6 / tickRate / ops);
    }
}
