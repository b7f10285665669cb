package io.panastor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressTest {
    @Test
    void onATerminalTheStatusLineIsRewrittenInPlaceAndClearedBeforeANote() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Progress p = new Progress(new PrintStream(err), true);
        p.show("disk.img: warm-up 1 s, 1000 IOPS");
        p.show("disk.img: 2 s");
        p.note("bench: a note");
        assertThat(err.toString()).isEqualTo("\rdisk.img: warm-up 1 s, 1000 IOPS" + "\rdisk.img: 2 s" + " ".repeat(19)
                + "\r" + " ".repeat(32) + "\r" + "bench: a note" + System.lineSeparator());
    }

    @Test
    void offATerminalOnlyNotesAreWritten() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Progress p = new Progress(new PrintStream(err), false);
        p.show("disk.img: 1 s");
        p.clear();
        p.note("bench: a note");
        assertThat(err.toString()).isEqualTo("bench: a note" + System.lineSeparator());
    }

    @Test
    void aTablePrintsItsRowsTogetherAndItsNotesAfterThem() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new Table(1, List.of("target", "IOPS")).row(List.of("a", "1")).note("FAILED b: why")
                .row(List.of("longer-name", "12345")).print(new PrintStream(out));
        assertThat(out.toString().lines().toList()).containsExactly(
                "target        IOPS",
                "a                1",
                "longer-name  12345",
                "  FAILED b: why");
    }
}
