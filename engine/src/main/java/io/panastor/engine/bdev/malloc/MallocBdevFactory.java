package io.panastor.engine.bdev.malloc;

import io.panastor.engine.error.EngineException;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.Geometry;
import java.util.List;

/** {@code malloc:///NAME?size=512MiB|size_mb=N|num_blocks=N[&blk_size=B][&uuid=U]} */
public final class MallocBdevFactory implements BdevFactory {
    static final int DEFAULT_BLOCK_SIZE = 512;

    @Override
    public List<String> schemes() {
        return List.of("malloc");
    }


    @Override
    public Bdev create(BdevUri uri) {
        uri.requireOnly(Geometry.PARAMS);
        Geometry g = Geometry.of(uri, DEFAULT_BLOCK_SIZE);
        try {
            return new MallocBdev(uri.simpleName(), uri.uuidOrRandom(), uri.canonical(), g.blockSize(), g.blockCount());
        } catch (OutOfMemoryError e) {
            throw new BdevException(EngineException.Reason.RESOURCE_EXHAUSTED, "cannot allocate "
                    + g.blockSize() * g.blockCount() + " bytes for " + uri.text(), e);
        }
    }
}
