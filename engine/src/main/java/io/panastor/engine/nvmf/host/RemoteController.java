package io.panastor.engine.nvmf.host;

import io.panastor.engine.nvmf.proto.IdentifyController;
import io.panastor.engine.nvmf.proto.IdentifyNamespace;
import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeCompletion;
import io.panastor.engine.nvmf.proto.TcpPdu;
import java.lang.foreign.MemorySegment;

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
 * <p>A discovery controller has no namespace and no IO queues: all but {@code cntlid} and
 * {@code maxQueueEntries} are 0.
 *
 * <p>Thread-safety: immutable.
 */
record RemoteController(int cntlid, int maxTransfer, int inCapsuleBytes, int ioQueues, long blocks, int blockSize,
                        int maxQueueEntries) {
    /** Largest transfer one command is given, whatever MDTS allows. */
    static final int MAX_TRANSFER = 1 << 20;
    /** Write data that may travel in a capsule at most (the IO queue's send side is sized for it). */
    static final int MAX_IN_CAPSULE = 8192;

    /** The transfer MDTS allows (2^MDTS minimum pages of 4 KiB; 0 = no limit), capped at {@link #MAX_TRANSFER}. */
    static int maxTransfer(int mdts) {
        if (mdts == 0 || mdts > IdentifyController.MAX_MDTS) {
            return MAX_TRANSFER;
        }
        return (int) Math.min(MAX_TRANSFER, IdentifyController.maxTransferBytes(mdts));
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
        MemorySegment s = MemorySegment.ofArray(data);
        int mdts = IdentifyController.mdts(s, 0);
        int idCntlid = IdentifyController.cntlid(s, 0);
        if (idCntlid != cntlid) {
            throw new Invalid("Identify Controller says CNTLID " + idCntlid + " but Connect gave " + cntlid);
        }
        long ioccsz = IdentifyController.ioccsz(s, 0);
        long iorcsz = TcpPdu.u32(s, IdentifyController.IORCSZ_OFFSET);
        // Fabrics 1.1 §4.1: at least the 64-byte SQE and the 16-byte CQE.
        if (ioccsz < NvmeCommand.SIZE / 16) {
            throw new Invalid("IOCCSZ " + ioccsz + " is less than one 64-byte command");
        }
        if (iorcsz < NvmeCompletion.SIZE / 16) {
            throw new Invalid("IORCSZ " + iorcsz + " is less than one 16-byte completion");
        }
        int inCapsule = (int) Math.min(MAX_IN_CAPSULE, IdentifyController.inCapsuleBytes(ioccsz));
        return new int[] {maxTransfer(mdts), inCapsule};
    }

    /** Checks Identify Namespace data; returns {@code [blockSize, blocks]} as longs. */
    static long[] checkNamespace(byte[] data, int nsid) throws Invalid {
        MemorySegment s = MemorySegment.ofArray(data);
        long nsze = IdentifyNamespace.size(s, 0);
        if (nsze == 0) {
            throw new Invalid("there is no namespace " + nsid + " (NSZE 0)");
        }
        int formats = IdentifyNamespace.formats(s, 0);
        int format = IdentifyNamespace.formatInUse(s, 0);
        if (format >= formats) {
            throw new Invalid("FLBAS selects LBA format " + format + " of " + formats);
        }
        int lbads = IdentifyNamespace.lbads(s, 0, format);
        int ms = IdentifyNamespace.metadataSize(s, 0, format);
        if (lbads < IdentifyNamespace.MIN_LBADS || lbads > IdentifyNamespace.MAX_LBADS) {
            throw new Invalid("LBADS " + lbads + " (block size 2^" + lbads + ") is not within "
                    + IdentifyNamespace.MIN_LBADS + ".." + IdentifyNamespace.MAX_LBADS);
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
