package io.panastor.engine.nvmf.host;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * What a remote controller and namespace are like, read from Identify and checked: a target
 * may be buggy or hostile, so no value it sends is used before it is range-checked, and a
 * value out of range is a clear error that names the field (not an overflow later, a negative
 * block size, or a bench that runs out of memory).
 *
 * @param cntlid         the controller's ID (from Connect; Identify must agree)
 * @param maxTransfer    most bytes one read or write command moves (MDTS, capped at {@link #MAX_TRANSFER});
 *                       larger IO is split into several commands
 * @param inCapsuleBytes most write data that travels in the command capsule (IOCCSZ)
 * @param ioQueues       IO queues the controller granted (Set Features, Number of Queues)
 * @param blocks         namespace size in blocks (NSZE)
 * @param blockSize      bytes per block (the formatted LBA format's LBADS)
 * @param maxQueueEntries most entries an IO queue may have (CAP.MQES + 1)
 *
 * <p>Thread-safety: immutable.
 */
record RemoteController(int cntlid, int maxTransfer, int inCapsuleBytes, int ioQueues, long blocks, int blockSize,
                        int maxQueueEntries) {
    /** Largest transfer one command is given, whatever MDTS allows. */
    static final int MAX_TRANSFER = 1 << 20;
    /** Write data that may travel in a capsule at most (the IO queue's send side is sized for it). */
    static final int MAX_IN_CAPSULE = 8192;
    /** Smallest and largest block size served: LBADS 9 (512 B) to 12 (4 KiB) ... 16 (64 KiB). */
    static final int MIN_LBADS = 9;
    static final int MAX_LBADS = 16;

    // Identify Controller (NVMe base 2.0 §5.17.2.1, fabrics 1.1 §4.1) — local until proto has IdentifyController.
    static final int IDC_MDTS = 77;
    static final int IDC_CNTLID = 78;
    static final int IDC_IOCCSZ = 1792;
    static final int IDC_IORCSZ = 1796;
    // Identify Namespace (NVM command set 1.0 §4.1.5.1) — local until proto has IdentifyNamespace.
    static final int IDN_NSZE = 0;
    static final int IDN_NLBAF = 25;
    static final int IDN_FLBAS = 26;
    static final int IDN_LBAF = 128;

    /** The transfer MDTS allows (2^MDTS minimum pages of 4 KiB; 0 = no limit), capped at {@link #MAX_TRANSFER}. */
    static int maxTransfer(int mdts) {
        if (mdts == 0 || mdts >= 9) {
            return MAX_TRANSFER;
        }
        return Math.min(MAX_TRANSFER, 4096 << mdts);
    }

    /** What is wrong with a field, thrown as the reason an attach fails. */
    static final class Invalid extends Exception {
        Invalid(String message) {
            super(message);
        }
    }

    /**
     * Checks Identify Controller data against the CNTLID Connect returned; returns {@code
     * [maxTransfer, inCapsuleBytes]}.
     */
    static int[] checkController(byte[] data, int cntlid) throws Invalid {
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        int mdts = b.get(IDC_MDTS) & 0xFF;
        int idCntlid = b.getShort(IDC_CNTLID) & 0xFFFF;
        if (idCntlid != cntlid) {
            throw new Invalid("Identify Controller says CNTLID " + idCntlid + " but Connect gave " + cntlid);
        }
        long ioccsz = Integer.toUnsignedLong(b.getInt(IDC_IOCCSZ));
        long iorcsz = Integer.toUnsignedLong(b.getInt(IDC_IORCSZ));
        // Fabrics 1.1 §4.1: at least the 64-byte SQE and the 16-byte CQE.
        if (ioccsz < 4) {
            throw new Invalid("IOCCSZ " + ioccsz + " is less than one 64-byte command");
        }
        if (iorcsz < 1) {
            throw new Invalid("IORCSZ " + iorcsz + " is less than one 16-byte completion");
        }
        int inCapsule = (int) Math.min(MAX_IN_CAPSULE, ioccsz * 16 - 64);
        return new int[] {maxTransfer(mdts), inCapsule};
    }

    /** Checks Identify Namespace data; returns {@code [blockSize, blocks]} as longs. */
    static long[] checkNamespace(byte[] data, int nsid) throws Invalid {
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        long nsze = b.getLong(IDN_NSZE);
        if (nsze == 0) {
            throw new Invalid("there is no namespace " + nsid + " (NSZE 0)");
        }
        int nlbaf = b.get(IDN_NLBAF) & 0xFF;
        int flbas = b.get(IDN_FLBAS) & 0xFF;
        // FLBAS bits 3:0, and bits 6:5 as the upper bits when there are more than 16 formats.
        int format = (flbas & 0xF) | ((flbas >>> 1) & 0x30);
        if (format > nlbaf || format > 63) {
            throw new Invalid("FLBAS selects LBA format " + format + " of " + (nlbaf + 1));
        }
        int lbaf = b.getInt(IDN_LBAF + 4 * format);
        int ms = lbaf & 0xFFFF;
        int lbads = (lbaf >>> 16) & 0xFF;
        if (lbads < MIN_LBADS || lbads > MAX_LBADS) {
            throw new Invalid("LBADS " + lbads + " (block size 2^" + lbads + ") is not within " + MIN_LBADS + ".."
                    + MAX_LBADS);
        }
        if (ms != 0) {
            throw new Invalid("LBA format " + format + " has " + ms + " bytes of metadata, which is not supported");
        }
        int blockSize = 1 << lbads;
        if (nsze < 0 || nsze > Long.MAX_VALUE / blockSize) {
            throw new Invalid("NSZE " + Long.toUnsignedString(nsze) + " blocks of " + blockSize + " B overflow");
        }
        return new long[] {blockSize, nsze};
    }
}
