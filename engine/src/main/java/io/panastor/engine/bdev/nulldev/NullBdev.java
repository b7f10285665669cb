package io.panastor.engine.bdev.nulldev;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.reactor.Reactor;
import java.util.UUID;

/**
 * A device that stores nothing: writes are dropped, reads return zeroes. For measuring
 * the stack above a device. Holds no resources.
 */
public final class NullBdev extends AbstractBdev {

    NullBdev(String name, UUID uuid, String uri, int blockSize, long blockCount) {
        super(name, uuid, uri, blockSize, blockCount);
    }

    @Override
    public String productName() {
        return "Null disk";
    }


    @Override
    protected IoChannel createChannel(Reactor reactor) {
        return new IoChannel(this, reactor, IoChannel.DEFAULT_IO_POOL_SIZE) {
            @Override
            protected void doSubmit(BdevIo io) {
                if (io.type() == IoType.READ) {
                    for (int i = 0; i < io.bufferCount(); i++) {
                        io.buffer(i).fill((byte) 0);
                    }
                }
                completeLater(io, IoStatus.SUCCESS, 0);
            }
        };
    }

    @Override
    protected void release() {
    }
}
