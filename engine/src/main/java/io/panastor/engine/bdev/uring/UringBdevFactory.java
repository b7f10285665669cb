package io.panastor.engine.bdev.uring;

import io.panastor.engine.error.EngineException;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.natives.BlockFile;
import io.panastor.natives.Errno;
import io.panastor.natives.NativeException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code uring:///PATH[?blk_size=B][&uuid=U]}, {@code aio:///PATH} (same engine: io_uring
 * serves what libaio would) and a bare {@code /PATH}. The file or device must exist; its
 * path is the bdev's name, as in Mayastor.
 */
public final class UringBdevFactory implements BdevFactory {
    static final Set<String> PARAMS = Set.of("blk_size", "uuid");

    @Override
    public List<String> schemes() {
        return List.of("uring", "aio");
    }

    @Override
    public String nameOf(BdevUri uri) {
        return uri.filePath();
    }

    @Override
    public Bdev create(BdevUri uri) {
        uri.requireOnly(PARAMS);
        String path = uri.filePath();
        BlockFile file;
        try {
            file = BlockFile.open(Path.of(path));
        } catch (NativeException e) {
            EngineException.Reason reason = e.errno() == Errno.ENOENT ? EngineException.Reason.NOT_FOUND
                    : e.errno() == Errno.EINVAL || e.errno() == Errno.EISDIR || e.errno() == Errno.ENODEV
                    ? EngineException.Reason.INVALID_ARGUMENT : EngineException.Reason.IO_ERROR;
            throw new BdevException(reason, "cannot open " + path + " for " + uri.text() + ": " + e.getMessage(), e);
        }
        try {
            int lbs = file.logicalBlockSize();
            int blockSize = uri.blockSize("blk_size", lbs);
            if (blockSize % lbs != 0) {
                throw BdevUri.invalid(uri.text(), "blk_size " + blockSize + " is not a multiple of the device's "
                        + "logical block size " + lbs);
            }
            if (file.size() < blockSize) {
                throw BdevUri.invalid(uri.text(), path + " holds " + file.size() + " bytes, less than one "
                        + blockSize + "-byte block");
            }
            return new UringBdev(path, uri.uuidOrRandom(), uri.canonical(), file, blockSize);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }
}
