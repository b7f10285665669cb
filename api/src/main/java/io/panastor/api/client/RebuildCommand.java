package io.panastor.api.client;

import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.panastor.api.cli.Sizes;
import io.panastor.api.v1.Child;
import io.panastor.api.v1.ListNexusOptions;
import io.panastor.api.v1.ListRebuildHistoryRequest;
import io.panastor.api.v1.ListRebuildHistoryResponse;
import io.panastor.api.v1.Nexus;
import io.panastor.api.v1.PauseRebuildRequest;
import io.panastor.api.v1.RebuildHistory;
import io.panastor.api.v1.RebuildHistoryRecord;
import io.panastor.api.v1.RebuildStatsRequest;
import io.panastor.api.v1.RebuildStatsResponse;
import io.panastor.api.v1.ResumeRebuildRequest;
import io.panastor.api.v1.StartRebuildRequest;
import io.panastor.api.v1.StopRebuildRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code panastor rebuild ...}: a nexus's rebuild jobs from a shell (NexusRpc's rebuild calls).
 * A nexus is named by its name or UUID, a child by its URI as the nexus lists it.
 */
@Command(name = "rebuild", mixinStandardHelpOptions = true,
        description = "Show, pause, resume, stop and start the rebuilds of a nexus's children, and list the finished ones.",
        subcommands = {RebuildCommand.Stats.class, RebuildCommand.Pause.class, RebuildCommand.Resume.class,
                RebuildCommand.Stop.class, RebuildCommand.Start.class, RebuildCommand.History.class})
public final class RebuildCommand extends CommandGroup {

    static String state(io.panastor.api.v1.RebuildJobState s) {
        return switch (s) {
            case Init -> "QUEUED";
            case Rebuilding -> "RUNNING";
            case Paused -> "PAUSED";
            case Stopped -> "STOPPED";
            case Failed -> "FAILED";
            case Completed -> "COMPLETED";
            case UNRECOGNIZED -> "?";
        };
    }

    static String rate(long bytesPerSecond) {
        return Sizes.format(bytesPerSecond) + "/s";
    }

    private static String time(com.google.protobuf.Timestamp t) {
        return t.getSeconds() == 0 && t.getNanos() == 0 ? "" : Instant.ofEpochSecond(t.getSeconds(), t.getNanos()).toString();
    }

    /** A call on one child's rebuild that answers with the nexus, shown as the nexus commands show it. */
    abstract static class OnChild extends NexusCommand.OnChild {
        abstract Nexus call(io.panastor.api.v1.NexusRpcGrpc.NexusRpcBlockingStub stub, String nexus);

        @Override
        final int run(ManagedChannel ch, Deadline d) {
            NexusCommand.show(this, call(NexusCommand.stub(ch, d), NexusCommand.uuid(ch, d, name)));
            return 0;
        }
    }

    @Command(name = "stats", mixinStandardHelpOptions = true,
            description = {"A nexus's rebuild jobs (queued, running, paused): state, kind, progress, rate.",
                    "With a child and --watch: its progress until the job ends (a live line on a terminal)."})
    static final class Stats extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The nexus (name or UUID)")
        String name;

        @Parameters(index = "1", arity = "0..1", paramLabel = "URI", description = "Only this child")
        String uri;

        @Option(names = "--watch", description = "Follow the child's job until it ends")
        boolean watch;

        @Option(names = "--interval", paramLabel = "MS", defaultValue = "500",
                description = "With --watch: how often to ask, in milliseconds. Default: ${DEFAULT-VALUE}")
        long intervalMs;

        @Override
        int run(ManagedChannel ch, Deadline d) throws InterruptedException {
            String u = NexusCommand.uuid(ch, d, name);
            if (watch) {
                if (uri == null) {
                    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--watch needs a child URI");
                }
                return watch(ch, u);
            }
            List<String> children = new ArrayList<>();
            if (uri != null) {
                children.add(uri);
            } else {
                Nexus n = NexusCommand.stub(ch, d).listNexus(ListNexusOptions.newBuilder()
                        .setUuid(com.google.protobuf.StringValue.of(u)).build()).getNexusList(0);
                for (Child c : n.getChildrenList()) {
                    if (c.getRebuildProgress() >= 0) {
                        children.add(c.getUri());
                    }
                }
            }
            Table t = new Table("CHILD", "STATE", "KIND", "PROGRESS", "SEGMENTS", "RATE", "SOURCE");
            List<RebuildStatsResponse> all = new ArrayList<>();
            for (String c : children) {
                RebuildStatsResponse r = NexusCommand.stub(ch, d).getRebuildStats(RebuildStatsRequest.newBuilder()
                        .setNexusUuid(u).setUri(c).build());
                all.add(r);
                t.row(c, state(r.getState()), r.getIsPartial() ? "partial" : "full", r.getProgress() + "%",
                        r.getSegmentsDone() + "/" + r.getSegmentsTotal(), rate(r.getBytesPerSecond()), r.getSrcUri());
            }
            if (options.json()) {
                for (RebuildStatsResponse r : all) {
                    printJson(r);
                }
            } else {
                t.print(out());
            }
            return 0;
        }

        /** Prints the job's progress until it has none (it ended); then its history record. */
        private int watch(ManagedChannel ch, String nexus) throws InterruptedException {
            boolean live = System.console() != null && !options.json();
            boolean any = false;
            StatusRuntimeException none = null;
            while (true) {
                Deadline d = Deadline.after(options.timeoutSeconds, TimeUnit.SECONDS);
                RebuildStatsResponse r;
                try {
                    r = NexusCommand.stub(ch, d).getRebuildStats(RebuildStatsRequest.newBuilder().setNexusUuid(nexus)
                            .setUri(uri).build());
                } catch (StatusRuntimeException e) {
                    if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                        throw e;
                    }
                    none = e;
                    break;   // it ended (or there was none: then its history has no record either)
                }
                any = true;
                if (options.json()) {
                    printJson(r);
                } else {
                    String line = String.format("%s %s %s %3d%% %d/%d segments %s", uri, state(r.getState()),
                            r.getIsPartial() ? "partial" : "full", r.getProgress(), r.getSegmentsDone(),
                            r.getSegmentsTotal(), rate(r.getBytesPerSecond()));
                    out().print(live ? "\r" + line + "\u001b[K" : line + System.lineSeparator());
                    out().flush();
                }
                Thread.sleep(intervalMs);
            }
            if (live) {
                out().println();
            }
            RebuildHistoryRecord last = null;
            for (RebuildHistory h : NexusCommand.stub(ch, Deadline.after(options.timeoutSeconds, TimeUnit.SECONDS))
                    .listRebuildHistory(ListRebuildHistoryRequest.newBuilder().setUuid(nexus).build())
                    .getHistoriesList()) {
                for (RebuildHistoryRecord rec : h.getRecordsList()) {
                    if (rec.getChildUri().equals(uri)) {
                        last = rec;
                    }
                }
            }
            if (last != null) {
                if (options.json()) {
                    printJson(last);
                } else {
                    out().println(uri + " " + state(last.getState()) + (last.getFailure().isEmpty() ? ""
                            : ": " + last.getFailure()));
                    out().flush();
                }
                return last.getState() == io.panastor.api.v1.RebuildJobState.Completed ? 0 : REFUSED;
            }
            if (!any) {
                throw none;
            }
            return 0;
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true,
            description = "Pause a child's rebuild: no new segments start; it answers once those in flight have ended.")
    static final class Pause extends OnChild {
        @Override
        Nexus call(io.panastor.api.v1.NexusRpcGrpc.NexusRpcBlockingStub stub, String nexus) {
            return stub.pauseRebuild(PauseRebuildRequest.newBuilder().setNexusUuid(nexus).setUri(uri).build()).getNexus();
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a child's paused rebuild.")
    static final class Resume extends OnChild {
        @Override
        Nexus call(io.panastor.api.v1.NexusRpcGrpc.NexusRpcBlockingStub stub, String nexus) {
            return stub.resumeRebuild(ResumeRebuildRequest.newBuilder().setNexusUuid(nexus).setUri(uri).build())
                    .getNexus();
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "Stop a child's rebuild; the child stays DEGRADED (out of sync) until `rebuild start`.")
    static final class Stop extends OnChild {
        @Override
        Nexus call(io.panastor.api.v1.NexusRpcGrpc.NexusRpcBlockingStub stub, String nexus) {
            return stub.stopRebuild(StopRebuildRequest.newBuilder().setNexusUuid(nexus).setUri(uri).build()).getNexus();
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Start a rebuild of a child that is out of sync with none (added with --norebuild, or stopped).")
    static final class Start extends OnChild {
        @Override
        Nexus call(io.panastor.api.v1.NexusRpcGrpc.NexusRpcBlockingStub stub, String nexus) {
            return stub.startRebuild(StartRebuildRequest.newBuilder().setNexusUuid(nexus).setUri(uri).build()).getNexus();
        }
    }

    @Command(name = "history", mixinStandardHelpOptions = true,
            description = "A nexus's finished rebuilds, oldest first (the last 32, kept across restarts).")
    static final class History extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The nexus (name or UUID)")
        String name;

        @Parameters(index = "1", arity = "0..1", paramLabel = "URI", description = "Only this child's")
        String uri;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListRebuildHistoryResponse r = NexusCommand.stub(ch, d).listRebuildHistory(ListRebuildHistoryRequest
                    .newBuilder().setUuid(NexusCommand.uuid(ch, d, name)).build());
            if (uri != null) {
                ListRebuildHistoryResponse.Builder only = ListRebuildHistoryResponse.newBuilder();
                for (RebuildHistory h : r.getHistoriesList()) {
                    only.addHistories(h.toBuilder().clearRecords().addAllRecords(h.getRecordsList().stream()
                            .filter(x -> x.getChildUri().equals(uri)).toList()));
                }
                r = only.build();
            }
            ListRebuildHistoryResponse shown = r;
            print(shown, () -> {
                Table t = new Table("CHILD", "KIND", "STATE", "BLOCKS", "COPIED", "RATE", "STARTED", "ENDED", "FAILURE");
                for (RebuildHistory h : shown.getHistoriesList()) {
                    for (RebuildHistoryRecord x : h.getRecordsList()) {
                        t.row(x.getChildUri(), x.getIsPartial() ? "partial" : "full", state(x.getState()),
                                Long.toString(x.getBlocksRecovered()) + "/" + x.getBlocksTotal(),
                                Long.toString(x.getBlocksTransferred()), rate(x.getBytesPerSecond()),
                                time(x.getStartTime()), time(x.getEndTime()), x.getFailure());
                    }
                }
                t.print(out());
            });
            return 0;
        }
    }
}
