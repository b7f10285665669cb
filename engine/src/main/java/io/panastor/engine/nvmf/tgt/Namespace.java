package io.panastor.engine.nvmf.tgt;

import io.panastor.engine.bdev.Bdev;
import java.util.UUID;

/** A namespace of a subsystem: a bdev under an NSID, with the identifiers hosts see. Immutable. */
public record Namespace(int nsid, Bdev bdev, UUID uuid, byte[] nguid) {
    public Namespace {
        if (nsid < 1 || nsid > Subsystem.MAX_NAMESPACES) {
            throw new IllegalArgumentException("NSID " + nsid + " is out of range 1.." + Subsystem.MAX_NAMESPACES);
        }
        if (nguid.length != 16) {
            throw new IllegalArgumentException("an NGUID has 16 bytes");
        }
    }

    /** A namespace whose UUID and NGUID come from the bdev's UUID. */
    public static Namespace of(int nsid, Bdev bdev) {
        UUID u = bdev.uuid();
        byte[] g = new byte[16];
        long hi = u.getMostSignificantBits();
        long lo = u.getLeastSignificantBits();
        for (int i = 0; i < 8; i++) {
            g[i] = (byte) (hi >>> (56 - 8 * i));
            g[8 + i] = (byte) (lo >>> (56 - 8 * i));
        }
        return new Namespace(nsid, bdev, u, g);
    }
}
