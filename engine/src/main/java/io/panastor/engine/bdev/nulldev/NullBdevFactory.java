package io.panastor.engine.bdev.nulldev;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.Geometry;
import java.util.List;

/** {@code null:///NAME?size=512MiB|size_mb=N|num_blocks=N[&blk_size=B][&uuid=U]} */
public final class NullBdevFactory implements BdevFactory {

    @Override
    public List<String> schemes() {
        return List.of("null");
    }


    @Override
    public Bdev create(BdevUri uri) {
        uri.requireOnly(Geometry.PARAMS);
        Geometry g = Geometry.of(uri, 512);
        return new NullBdev(uri.simpleName(), uri.uuidOrRandom(), uri.canonical(), g.blockSize(), g.blockCount());
    }
}
