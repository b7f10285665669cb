package io.panastor.api.client;

import com.google.protobuf.StringValue;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.panastor.api.cli.BdevArgs;
import io.panastor.api.cli.Sizes;
import io.panastor.api.v1.Bdev;
import io.panastor.api.v1.BdevRpcGrpc;
import io.panastor.api.v1.BdevShareRequest;
import io.panastor.api.v1.BdevUnshareRequest;
import io.panastor.api.v1.CreateBdevRequest;
import io.panastor.api.v1.DestroyBdevRequest;
import io.panastor.api.v1.ListBdevOptions;
import io.panastor.api.v1.ListBdevResponse;
import io.panastor.api.v1.ShareProtocol;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code panastor bdev ...}: the BdevRpc service from a shell. */
@Command(name = "bdev", mixinStandardHelpOptions = true, description = "Create, list, share and destroy bdevs on a running engine.",
        subcommands = {BdevCommand.Create.class, BdevCommand.ListBdevs.class, BdevCommand.Share.class,
                BdevCommand.Unshare.class, BdevCommand.Destroy.class})
public final class BdevCommand extends CommandGroup {
    static BdevRpcGrpc.BdevRpcBlockingStub stub(ManagedChannel ch, Deadline d) {
        return BdevRpcGrpc.newBlockingStub(ch).withDeadline(d);
    }

    static void table(ClientCommand c, List<Bdev> bdevs) {
        Table t = new Table("NAME", "KIND", "SIZE", "BLOCK", "CLAIMED BY", "SHARE URI", "UUID");
        for (Bdev b : bdevs) {
            t.row(b.getName(), b.getProductName(), Sizes.format(b.getNumBlocks() * b.getBlkSize()), b.getBlkSize(),
                    b.getClaimedBy(), b.getShareUri(), b.getUuid());
        }
        t.print(c.out());
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create a bdev from a URI (malloc:///m0?size_mb=64, uring:///dev/sdb, a file path, nvmf://...).")
    static final class Create extends ClientCommand {
        @Parameters(paramLabel = "URI", description = "What to create; a relative path is a file here")
        String uri;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Bdev b = stub(ch, d).create(CreateBdevRequest.newBuilder().setUri(BdevArgs.resolve(uri)).build()).getBdev();
            print(b, () -> table(this, List.of(b)));
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the bdevs (or the one named).")
    static final class ListBdevs extends ClientCommand {
        @Parameters(paramLabel = "NAME", arity = "0..1", description = "Only this bdev")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListBdevOptions.Builder req = ListBdevOptions.newBuilder();
            if (name != null) {
                req.setName(StringValue.of(name));
            }
            ListBdevResponse r = stub(ch, d).list(req.build());
            print(r, () -> table(this, r.getBdevsList()));
            return 0;
        }
    }

    @Command(name = "share", mixinStandardHelpOptions = true,
            description = {"Export a bdev over NVMe/TCP on the engine's replica listener.",
                    "Prints its nvmf://host:port/nqn URI on a line of its own."})
    static final class Share extends ClientCommand {
        @Parameters(paramLabel = "NAME", description = "The bdev")
        String name;

        @Option(names = "--allow-host", paramLabel = "NQN", description = "Host NQN allowed to connect (repeatable). Default: any host")
        List<String> hosts = new ArrayList<>();

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Bdev b = stub(ch, d).share(BdevShareRequest.newBuilder().setName(name).setProtocol(ShareProtocol.NVMF)
                    .addAllAllowedHosts(hosts).build()).getBdev();
            print(b, () -> {
                out().println(b.getShareUri());
                out().flush();
            });
            return 0;
        }
    }

    @Command(name = "unshare", mixinStandardHelpOptions = true, description = "Stop exporting a bdev (its hosts are disconnected).")
    static final class Unshare extends ClientCommand {
        @Parameters(paramLabel = "NAME", description = "The bdev")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            stub(ch, d).unshare(BdevUnshareRequest.newBuilder().setName(name).build());
            return 0;
        }
    }

    @Command(name = "destroy", mixinStandardHelpOptions = true, description = "Destroy a bdev (unsharing it first).")
    static final class Destroy extends ClientCommand {
        @Parameters(paramLabel = "NAME|URI", description = "The bdev, by name, UUID or the URI it was created from")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            stub(ch, d).destroy(DestroyBdevRequest.newBuilder().setUri(name).build());
            return 0;
        }
    }
}
