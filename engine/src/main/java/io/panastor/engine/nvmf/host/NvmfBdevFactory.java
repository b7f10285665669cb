package io.panastor.engine.nvmf.host;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.BdevFactory;
import io.panastor.engine.bdev.BdevUri;
import java.io.IOException;
import java.util.List;
import java.util.UUID;

/**
 * {@code nvmf://host[:port]/nqn} (or {@code nvmf+tcp://}): connects to the subsystem and
 * makes its namespace a bdev named by the URI, as Mayastor names its nvmf bdevs.
 */
public final class NvmfBdevFactory implements BdevFactory {
    @Override
    public List<String> schemes() {
        return List.of("nvmf", "nvmf+tcp");
    }

    @Override
    public String nameOf(BdevUri uri) {
        return NvmfUri.of(uri).text();
    }

    @Override
    public Bdev create(BdevUri uri) {
        NvmfUri n = NvmfUri.of(uri);
        AdminConnection admin;
        try {
            admin = AdminConnection.open(n);
        } catch (IOException e) {
            throw new BdevException(BdevException.Reason.IO_ERROR, "cannot attach " + uri.text() + ": "
                    + e.getMessage(), e);
        }
        return new NvmfBdev(n.text(), uri.param("uuid") != null ? uri.uuidOrRandom()
                : UUID.nameUUIDFromBytes(n.text().getBytes(java.nio.charset.StandardCharsets.UTF_8)), n, admin);
    }
}
