package io.panastor.api.client;

import com.google.protobuf.StringValue;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.panastor.api.cli.BdevArgs;
import io.panastor.api.cli.Sizes;
import io.panastor.api.v1.CreatePoolRequest;
import io.panastor.api.v1.DestroyPoolRequest;
import io.panastor.api.v1.ExportPoolRequest;
import io.panastor.api.v1.GrowPoolRequest;
import io.panastor.api.v1.GrowPoolResponse;
import io.panastor.api.v1.ImportPoolRequest;
import io.panastor.api.v1.ListPoolOptions;
import io.panastor.api.v1.ListPoolsResponse;
import io.panastor.api.v1.Pool;
import io.panastor.api.v1.PoolRpcGrpc;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code panastor pool ...}: the PoolRpc service from a shell. */
@Command(name = "pool", mixinStandardHelpOptions = true,
        description = "Create, import, grow, list, export and destroy storage pools on a running engine.",
        subcommands = {PoolCommand.Create.class, PoolCommand.ListPools.class, PoolCommand.Import.class,
                PoolCommand.Export.class, PoolCommand.Grow.class, PoolCommand.Destroy.class})
public final class PoolCommand extends CommandGroup {
    static PoolRpcGrpc.PoolRpcBlockingStub stub(ManagedChannel ch, Deadline d) {
        return PoolRpcGrpc.newBlockingStub(ch).withDeadline(d);
    }

    static void table(ClientCommand c, List<Pool> pools) {
        Table t = new Table("NAME", "STATE", "CAPACITY", "USED", "COMMITTED", "CLUSTER", "DISK", "UUID");
        for (Pool p : pools) {
            t.row(p.getName(), p.getState().name().replace("POOL_", "").toLowerCase(java.util.Locale.ROOT),
                    Sizes.format(p.getCapacity()), Sizes.format(p.getUsed()), Sizes.format(p.getCommitted()),
                    Sizes.format(Integer.toUnsignedLong(p.getClusterSize())), String.join(",", p.getDisksList()),
                    p.getUuid());
        }
        t.print(c.out());
    }

    static void show(ClientCommand c, Pool p) {
        c.print(p, () -> table(c, List.of(p)));
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a pool on a disk (a path, a device, or a bdev URI such as uring:///dev/sdb).",
                    "A disk that already holds this pool is imported; one with other data is refused unless --overwrite."})
    static final class Create extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The pool's name")
        String name;

        @Parameters(index = "1", paramLabel = "DISK_URI", description = "Its disk; a relative path is a file here")
        String disk;

        @Option(names = "--cluster-size", paramLabel = "SIZE", converter = Sizes.Converter.class,
                description = "Allocation unit: a power of two of at least 1MiB. Default: 4MiB")
        Long clusterSize;

        @Option(names = "--uuid", paramLabel = "UUID", description = "The pool's UUID. Default: a new one")
        String uuid;

        @Option(names = "--overwrite", description = "Write over a disk that holds something other than a pool")
        boolean overwrite;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            CreatePoolRequest.Builder r = CreatePoolRequest.newBuilder().setName(name).addDisks(BdevArgs.resolve(disk))
                    .setOverwrite(overwrite);
            if (clusterSize != null) {
                if (clusterSize <= 0 || clusterSize > 0xFFFF_FFFFL) {
                    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                            "--cluster-size " + clusterSize + ": out of range");
                }
                r.setClusterSize((int) (long) clusterSize);
            }
            if (uuid != null) {
                r.setUuid(StringValue.of(uuid));
            }
            show(this, stub(ch, d).createPool(r.build()));
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the pools (or the one named).")
    static final class ListPools extends ClientCommand {
        @Parameters(paramLabel = "NAME", arity = "0..1", description = "Only this pool")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListPoolOptions.Builder r = ListPoolOptions.newBuilder();
            if (name != null) {
                r.setName(StringValue.of(name));
            }
            ListPoolsResponse pools = stub(ch, d).listPools(r.build());
            print(pools, () -> table(this, pools.getPoolsList()));
            return 0;
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = "Open the pool on a disk as it was last written (after an export, a restart or a crash).")
    static final class Import extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The pool's name, as on the disk")
        String name;

        @Parameters(index = "1", paramLabel = "DISK_URI", description = "Its disk")
        String disk;

        @Option(names = "--uuid", paramLabel = "UUID", description = "Import only if the pool has this UUID")
        String uuid;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            ImportPoolRequest.Builder r = ImportPoolRequest.newBuilder().setName(name).addDisks(BdevArgs.resolve(disk));
            if (uuid != null) {
                r.setUuid(StringValue.of(uuid));
            }
            show(this, stub(ch, d).importPool(r.build()));
            return 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = "Close a pool without destroying it (its replicas' shares come back at import).")
    static final class Export extends ClientCommand {
        @Parameters(paramLabel = "NAME", description = "The pool")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            stub(ch, d).exportPool(ExportPoolRequest.newBuilder().setName(name).build());
            return 0;
        }
    }

    @Command(name = "grow", mixinStandardHelpOptions = true,
            description = "Take the space the pool's disk gained; prints the pool before and after.")
    static final class Grow extends ClientCommand {
        @Parameters(paramLabel = "NAME", description = "The pool")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            GrowPoolResponse r = stub(ch, d).growPool(GrowPoolRequest.newBuilder().setName(name).build());
            print(r, () -> table(this, List.of(r.getPreviousPool(), r.getCurrentPool())));
            return 0;
        }
    }

    @Command(name = "destroy", mixinStandardHelpOptions = true,
            description = "Destroy a pool: wipe its metadata and release its disk. Refused while it has replicas, unless --force.")
    static final class Destroy extends ClientCommand {
        @Parameters(paramLabel = "NAME", description = "The pool")
        String name;

        @Option(names = "--force", description = "Destroy its replicas too")
        boolean force;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            stub(ch, d).destroyPool(DestroyPoolRequest.newBuilder().setName(name).setForce(force).build());
            return 0;
        }
    }
}
