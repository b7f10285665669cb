package io.panastor.api.client;

import com.google.protobuf.StringValue;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.panastor.api.cli.Sizes;
import io.panastor.api.v1.AddChildNexusRequest;
import io.panastor.api.v1.Child;
import io.panastor.api.v1.ChildAction;
import io.panastor.api.v1.ChildOperationRequest;
import io.panastor.api.v1.CreateNexusRequest;
import io.panastor.api.v1.DestroyNexusRequest;
import io.panastor.api.v1.FaultNexusChildRequest;
import io.panastor.api.v1.ListNexusOptions;
import io.panastor.api.v1.ListNexusResponse;
import io.panastor.api.v1.Nexus;
import io.panastor.api.v1.NexusRpcGrpc;
import io.panastor.api.v1.PublishNexusRequest;
import io.panastor.api.v1.RemoveChildNexusRequest;
import io.panastor.api.v1.ResizeNexusRequest;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.api.v1.ShutdownNexusRequest;
import io.panastor.api.v1.UnpublishNexusRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code panastor nexus ...}: the NexusRpc service from a shell. A nexus is named by its name
 * or UUID; the RPCs take UUIDs, so a name is resolved through ListNexus first.
 */
@Command(name = "nexus", mixinStandardHelpOptions = true,
        description = "Create, list, publish, resize and destroy nexuses (volumes mirrored over children) and manage "
                + "their children in a running engine.",
        subcommands = {NexusCommand.Create.class, NexusCommand.ListNexuses.class, NexusCommand.Publish.class,
                NexusCommand.Unpublish.class, NexusCommand.Resize.class, NexusCommand.AddChild.class,
                NexusCommand.RemoveChild.class, NexusCommand.FaultChild.class, NexusCommand.OnlineChild.class,
                NexusCommand.OfflineChild.class, NexusCommand.Shutdown.class, NexusCommand.Destroy.class})
public final class NexusCommand extends CommandGroup {
    static NexusRpcGrpc.NexusRpcBlockingStub stub(ManagedChannel ch, Deadline d) {
        return NexusRpcGrpc.newBlockingStub(ch).withDeadline(d);
    }

    /** The UUID of nexus {@code key} (a name or a UUID); NOT_FOUND (exit 1) if there is none. */
    static String uuid(ManagedChannel ch, Deadline d, String key) {
        for (Nexus n : stub(ch, d).listNexus(ListNexusOptions.getDefaultInstance()).getNexusListList()) {
            if (n.getName().equals(key) || n.getUuid().equalsIgnoreCase(key)) {
                return n.getUuid();
            }
        }
        throw Status.NOT_FOUND.withDescription("no nexus " + key + " on this engine: `panastor nexus list` shows "
                + "the nexuses there are").asRuntimeException();
    }

    /** One line per nexus, then its children indented beneath it. */
    static void table(ClientCommand c, List<Nexus> nexuses) {
        Table t = new Table("NAME", "STATE", "SIZE", "DEVICE URI", "UUID");
        for (Nexus n : nexuses) {
            t.row(n.getName(), state(n), Sizes.format(n.getSize()), n.getDeviceUri(), n.getUuid());
            for (Child ch : n.getChildrenList()) {
                t.row("  " + ch.getUri(), childState(ch), "", "", "");
            }
        }
        t.print(c.out());
    }

    static String state(Nexus n) {
        return n.getState().name().replaceFirst("^NEXUS_", "");
    }

    /** {@code ONLINE}, or the state and its reason ({@code FAULTED/BY_CLIENT}), and a rebuild's progress ({@code 42%}). */
    static String childState(Child ch) {
        String s = ch.getState().name().replaceFirst("^CHILD_STATE_", "");
        String r = ch.getStateReason().name().replaceFirst("^CHILD_STATE_REASON_", "");
        String st = r.equals("NONE") ? s : s + "/" + r;
        return ch.getRebuildProgress() >= 0 ? st + " rebuilding " + ch.getRebuildProgress() + "%" : st;
    }

    static void show(ClientCommand c, Nexus n) {
        c.print(n, () -> table(c, List.of(n)));
    }

    /** A command on one nexus, named by NAME (its name or UUID). */
    abstract static class OnNexus extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The nexus (name or UUID)")
        String name;
    }

    /** A command on one child of a nexus. */
    abstract static class OnChild extends OnNexus {
        @Parameters(index = "1", paramLabel = "URI", description = "The child's URI, as the nexus lists it")
        String uri;
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a nexus over its children (bdev:///REPLICA, nvmf://HOST:PORT/NQN, malloc:///...).",
                    "The same nexus again is no error; a different one under its name is."})
    static final class Create extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The nexus's name")
        String name;

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "CHILD_URI", description = "Its children")
        List<String> children;

        @Option(names = "--size", required = true, paramLabel = "SIZE", converter = Sizes.Converter.class,
                description = "Its size: 64MiB, 10GiB, ...; every child at least that big")
        long size;

        @Option(names = "--uuid", paramLabel = "UUID", description = "Its UUID (its volume's). Default: a new one")
        String uuid;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            String u = uuid;
            if (u == null) {
                // No UUID given: the nexus of this name, if there is one, is the one asked for.
                ListNexusResponse same = stub(ch, d).listNexus(ListNexusOptions.newBuilder()
                        .setName(StringValue.of(name)).build());
                u = same.getNexusListCount() == 1 ? same.getNexusList(0).getUuid() : UUID.randomUUID().toString();
            }
            show(this, stub(ch, d).createNexus(CreateNexusRequest.newBuilder().setName(name).setUuid(u).setSize(size)
                    .addAllChildren(children).build()).getNexus());
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the nexuses and their children.")
    static final class ListNexuses extends ClientCommand {
        @Parameters(paramLabel = "NAME", arity = "0..1", description = "Only this nexus (name or UUID)")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListNexusResponse all = stub(ch, d).listNexus(ListNexusOptions.getDefaultInstance());
            ListNexusResponse r = name == null ? all : ListNexusResponse.newBuilder().addAllNexusList(
                    all.getNexusListList().stream().filter(n -> n.getName().equals(name)
                            || n.getUuid().equalsIgnoreCase(name)).toList()).build();
            print(r, () -> table(this, r.getNexusListList()));
            return 0;
        }
    }

    @Command(name = "publish", mixinStandardHelpOptions = true,
            description = {"Publish a nexus over NVMe/TCP on the nexus listener as nqn.2019-05.io.openebs:<uuid>.",
                    "Prints its nvmf://host:port/nqn device URI on a line of its own."})
    static final class Publish extends OnNexus {
        @Option(names = "--allow-host", paramLabel = "NQN", description = "Host NQN allowed to connect (repeatable). Default: any host")
        List<String> hosts = new ArrayList<>();

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Nexus n = stub(ch, d).publishNexus(PublishNexusRequest.newBuilder().setUuid(uuid(ch, d, name))
                    .setShare(ShareProtocol.NVMF).addAllAllowedHosts(hosts).build()).getNexus();
            print(n, () -> {
                out().println(n.getDeviceUri());
                out().flush();
            });
            return 0;
        }
    }

    @Command(name = "unpublish", mixinStandardHelpOptions = true, description = "Stop publishing a nexus (its hosts are disconnected).")
    static final class Unpublish extends OnNexus {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            show(this, stub(ch, d).unpublishNexus(UnpublishNexusRequest.newBuilder().setUuid(uuid(ch, d, name))
                    .build()).getNexus());
            return 0;
        }
    }

    @Command(name = "resize", mixinStandardHelpOptions = true,
            description = "Grow a nexus, once its children are that big (shrinking is refused).")
    static final class Resize extends OnNexus {
        @Parameters(index = "1", paramLabel = "SIZE", converter = Sizes.Converter.class, description = "Its new size")
        long size;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            show(this, stub(ch, d).resizeNexus(ResizeNexusRequest.newBuilder().setUuid(uuid(ch, d, name))
                    .setRequestedSize(size).build()).getNexus());
            return 0;
        }
    }

    @Command(name = "add-child", mixinStandardHelpOptions = true,
            description = "Add a child: it takes writes from now on, reads once rebuilt.")
    static final class AddChild extends OnChild {
        @Option(names = "--norebuild", description = "Start no rebuild of it")
        boolean noRebuild;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            show(this, stub(ch, d).addChildNexus(AddChildNexusRequest.newBuilder().setUuid(uuid(ch, d, name))
                    .setUri(uri).setNorebuild(noRebuild).build()).getNexus());
            return 0;
        }
    }

    @Command(name = "remove-child", mixinStandardHelpOptions = true,
            description = "Remove a child (the last healthy one stays).")
    static final class RemoveChild extends OnChild {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            show(this, stub(ch, d).removeChildNexus(RemoveChildNexusRequest.newBuilder().setUuid(uuid(ch, d, name))
                    .setUri(uri).build()).getNexus());
            return 0;
        }
    }

    @Command(name = "fault-child", mixinStandardHelpOptions = true,
            description = "Fault a child on purpose: out of the IO path for good (the last healthy one stays).")
    static final class FaultChild extends OnChild {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            show(this, stub(ch, d).faultNexusChild(FaultNexusChildRequest.newBuilder().setUuid(uuid(ch, d, name))
                    .setUri(uri).build()).getNexus());
            return 0;
        }
    }

    @Command(name = "online-child", mixinStandardHelpOptions = true,
            description = "Bring a child back online: it takes writes again, reads once rebuilt.")
    static final class OnlineChild extends OnChild {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            show(this, operation(ch, d, name, uri, ChildAction.Online));
            return 0;
        }
    }

    @Command(name = "offline-child", mixinStandardHelpOptions = true,
            description = "Take a child offline (for now; with --permanent, for good) (the last healthy one stays).")
    static final class OfflineChild extends OnChild {
        @Option(names = "--permanent", description = "Offline for good: faulted by the client")
        boolean permanent;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            show(this, operation(ch, d, name, uri, permanent ? ChildAction.OfflinePermanent : ChildAction.Offline));
            return 0;
        }
    }

    static Nexus operation(ManagedChannel ch, Deadline d, String name, String uri, ChildAction action) {
        return stub(ch, d).childOperation(ChildOperationRequest.newBuilder().setNexusUuid(uuid(ch, d, name))
                .setUri(uri).setAction(action).build()).getNexus();
    }

    @Command(name = "shutdown", mixinStandardHelpOptions = true,
            description = "Shut a nexus down: unpublished, IO ended, a clean shutdown recorded; then only destroy.")
    static final class Shutdown extends OnNexus {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            show(this, stub(ch, d).shutdownNexus(ShutdownNexusRequest.newBuilder().setUuid(uuid(ch, d, name))
                    .build()).getNexus());
            return 0;
        }
    }

    @Command(name = "destroy", mixinStandardHelpOptions = true,
            description = {"Destroy a nexus (unpublishing it first). No nexus: no error.",
                    "The bdevs it was given (bdev:///...) stay; those it made from a URI (malloc:///..., nvmf://...)"
                            + " are destroyed."})
    static final class Destroy extends OnNexus {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            String u;
            try {
                u = uuid(ch, d, name);
            } catch (io.grpc.StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                    throw e;
                }
                return 0;   // not there: destroyed already, as DestroyNexus says
            }
            stub(ch, d).destroyNexus(DestroyNexusRequest.newBuilder().setUuid(u).build());
            return 0;
        }
    }
}
