package io.panastor.engine.nvmf;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import io.panastor.engine.Await;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every malformed PDU ends its own connection with a C2HTermReq naming the fault, and every
 * other connection keeps serving (NVMe/TCP 1.0 §3.6.2.3, §3.5.6).
 */
class MalformedPduTest {
    static final String NQN = "nqn.2026-11.io.panastor:malformed";
    static Reactors reactors;
    static Bdevs bdevs;
    static NvmfTarget target;
    static InetSocketAddress address;
    static TestHost bystanderAdmin;
    static TestHost bystander;

    @BeforeAll
    static void start() throws IOException {
        reactors = Reactors.start(2);
        bdevs = new Bdevs();
        bdevs.create("malloc:///mal?size_mb=16&blk_size=4096");
        target = new NvmfTarget(reactors, bdevs);
        target.createSubsystem(NQN, "SN", "M", true, List.of());
        target.addNamespace(NQN, "mal", 1);
        address = target.addListener("127.0.0.1", 0);
        bystanderAdmin = new TestHost(address);
        int cntlid = bystanderAdmin.openAdmin(NQN, 0);
        bystander = new TestHost(address);
        bystander.icReq(false, false);
        assertThat(bystander.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0).ok()).isTrue();
    }

    @AfterAll
    static void stop() throws IOException {
        bystander.close();
        bystanderAdmin.close();
        target.close();
        bdevs.destroyAll().join();
        reactors.close();
    }

    /** A malformed input: what to send after (or instead of) the IC exchange, and the FES expected. */
    record Case(String name, boolean icFirst, boolean digests, byte[] pdu, int fes) {
        @Override
        public String toString() {
            return name;
        }
    }

    static byte[] header(int type, int flags, int hlen, int pdo, int plen) {
        ByteBuffer b = TestHost.le(Math.max(plen, 8));
        b.put(0, (byte) type).put(1, (byte) flags).put(2, (byte) hlen).put(3, (byte) pdo).putInt(4, plen);
        return b.array();
    }

    static byte[] capsule(int opcode, int plenExtra) {
        ByteBuffer b = TestHost.le(CAPSULE_CMD_HLEN + plenExtra);
        b.put(0, (byte) CAPSULE_CMD).put(2, (byte) CAPSULE_CMD_HLEN).putInt(4, CAPSULE_CMD_HLEN + plenExtra);
        b.put(8, (byte) opcode);
        return b.array();
    }

    static List<Case> cases() {
        byte[] badDigest = capsule(NvmeOpcodes.ADMIN_KEEP_ALIVE, 4);
        badDigest[1] = FLAG_HDGSTF;
        byte[] badPdo = capsule(NvmeOpcodes.NVM_WRITE, 512);
        badPdo[3] = 100;
        byte[] tooMuchData = header(H2C_DATA, 0, DATA_HLEN, DATA_HLEN, DATA_HLEN + 256 * 1024);
        byte[] strayData = header(H2C_DATA, 0, DATA_HLEN, DATA_HLEN, DATA_HLEN + 512);
        byte[] icReqPfv = header(ICREQ, 0, IC_LENGTH, 0, IC_LENGTH);
        icReqPfv[8] = 1;
        return List.of(
                new Case("unknown PDU type", true, false, header(0x42, 0, 24, 0, 24), FES_INVALID_PDU_HEADER_FIELD),
                new Case("controller-to-host type from the host", true, false, header(R2T, 0, 24, 0, 24),
                        FES_INVALID_PDU_HEADER_FIELD),
                new Case("wrong HLEN for a capsule", true, false, header(CAPSULE_CMD, 0, 60, 0, 72),
                        FES_INVALID_PDU_HEADER_FIELD),
                new Case("PLEN shorter than the header", true, false, header(CAPSULE_CMD, 0, 72, 0, 40),
                        FES_INVALID_PDU_HEADER_FIELD),
                new Case("capsule before ICReq", false, false, capsule(NvmeOpcodes.ADMIN_KEEP_ALIVE, 0),
                        FES_PDU_SEQUENCE_ERROR),
                new Case("second ICReq", true, false, header(ICREQ, 0, IC_LENGTH, 0, IC_LENGTH), FES_PDU_SEQUENCE_ERROR),
                new Case("ICReq with an unknown PFV", false, false, icReqPfv, FES_INVALID_PDU_HEADER_FIELD),
                new Case("header digest that does not match", true, true, badDigest, FES_HEADER_DIGEST_ERROR),
                new Case("data at the wrong PDO", true, false, badPdo, FES_INVALID_PDU_HEADER_FIELD),
                new Case("H2CData beyond MAXH2CDATA", true, false, tooMuchData, FES_DATA_TRANSFER_LIMIT_EXCEEDED),
                new Case("H2CData for no R2T", true, false, strayData, FES_INVALID_PDU_HEADER_FIELD));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void malformedPduEndsOnlyItsConnection(Case c) throws Exception {
        try (TestHost h = new TestHost(address)) {
            if (c.icFirst) {
                h.icReq(c.digests, c.digests);
            }
            h.send(c.pdu);
            ByteBuffer term = h.readPdu();
            assertThat(term.get(0)).as("PDU type").isEqualTo((byte) C2H_TERM_REQ);
            assertThat(term.getShort((int) FES_OFFSET)).as("FES").isEqualTo((short) c.fes);
            assertThat(term.getInt(4)).as("PLEN").isBetween(TERM_REQ_HLEN, TERM_REQ_HLEN + TERM_REQ_MAX_DATA);
            assertThat(h.closedByTarget()).isTrue();
        }
        // The connection already in use keeps serving.
        byte[] data = new byte[4096];
        java.util.Arrays.fill(data, (byte) c.name.length());
        assertThat(bystander.write(1, 5, data, 4096, true).ok()).isTrue();
        assertThat(bystander.read(1, 5, 1, 4096).data()).isEqualTo(data);
        Await.until("the bad connection to be gone", Duration.ofSeconds(5), () -> target.connections().size() == 2);
        assertThat(target.connections()).as("only the two good connections remain").hasSize(2);
    }
}
