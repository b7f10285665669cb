package io.panastor.engine.bdev;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.bdev.BlockPattern.Verdict;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

class BlockPatternTest {

    @Property(tries = 200)
    void everyKindOfDamageIsNamed(@ForAll @LongRange(min = 0, max = 1L << 40) long lba,
                                  @ForAll @LongRange(min = 2, max = 1L << 30) long generation,
                                  @ForAll @IntRange(min = 0, max = 3) int sizeClass,
                                  @ForAll @IntRange(min = 0, max = 65535) int flipAt) {
        int bs = 512 << sizeClass;
        BlockPattern p = new BlockPattern();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocate(bs);
            p.fill(b, 0, bs, lba, 1, generation);
            assertThat(p.verify(b, 0, bs, lba, generation)).isEqualTo(Verdict.OK);
            assertThat(p.verify(b, 0, bs, lba + 1, generation)).isEqualTo(Verdict.MISPLACED);
            assertThat(p.verify(b, 0, bs, lba, generation + 1)).isEqualTo(Verdict.STALE);
            assertThat(p.verify(b, 0, bs, lba, generation - 1)).isEqualTo(Verdict.NEWER);
            int at = flipAt % bs;
            b.set(ValueLayout.JAVA_BYTE, at, (byte) (b.get(ValueLayout.JAVA_BYTE, at) ^ 0x10));
            assertThat(p.verify(b, 0, bs, lba, generation)).isEqualTo(Verdict.CORRUPT);
            b.fill((byte) 0);
            assertThat(p.verify(b, 0, bs, lba, generation)).isEqualTo(Verdict.ZERO);
        }
    }

    @Property(tries = 50)
    void aTornBlockHalfFromEachGenerationIsCorrupt(@ForAll @LongRange(min = 0, max = 1L << 30) long lba,
                                                    @ForAll @IntRange(min = 1, max = 7) int tearAtEighth) {
        int bs = 4096;
        BlockPattern p = new BlockPattern();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment older = a.allocate(bs);
            MemorySegment newer = a.allocate(bs);
            p.fill(older, 0, bs, lba, 1, 1);
            p.fill(newer, 0, bs, lba, 1, 2);
            long tear = (long) bs / 8 * tearAtEighth;
            MemorySegment.copy(newer, 0, older, 0, tear);
            assertThat(p.verify(older, 0, bs, lba, 2)).isEqualTo(Verdict.CORRUPT);
        }
    }
}
