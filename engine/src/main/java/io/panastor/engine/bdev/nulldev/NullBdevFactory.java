package io.panastor.engine.bdev.nulldev;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.Geometry;
import java.util.List;
import java.util.Set;

/** {@code null:///NAME?size_mb=N|num_blocks=N[&blk_size=B][&uuid=U]} */
public final class NullBdevFactory implements BdevFactory {
    static final Set<String> PARAMS = Set.of("size_mb", "num_blocks", "blk_size", "uuid");

    @Override
    public List<String> schemes() {
        return List.of("null");
    }

    @Override
    public String nameOf(BdevUri uri) {
        return uri.simpleName();
    }

    @Override
    public Bdev create(BdevUri uri) {
        uri.requireOnly(PARAMS);
        Geometry g = Geometry.of(uri, 512);
        return new NullBdev(uri.simpleName(), uri.uuidOrRandom(), uri.canonical(), g.blockSize(), g.blockCount());
    }
}
