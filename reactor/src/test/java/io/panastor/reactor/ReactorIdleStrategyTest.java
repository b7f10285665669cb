package io.panastor.reactor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The idle strategy alone, driven by a test host and a manual clock: what it does with empty cycles. */
class ReactorIdleStrategyTest {

    private static final class Host implements ReactorIdleStrategy.Host {
        boolean shares;
        boolean ioInFlight;
        int parks;

        @Override
        public boolean sharesCore() {
            return shares;
        }

        @Override
        public boolean ioInFlight() {
            return ioInFlight;
        }

        @Override
        public void park() {
            parks++;
        }
    }

    private final Host host = new Host();
    private final ManualNanoClock realTime = new ManualNanoClock();
    private final ReactorIdleStrategy idle = new ReactorIdleStrategy(host, realTime);

    @Test
    void aDedicatedReactorSpinsAndYieldsBeforeItParks() {
        for (int i = 0; i < ReactorIdleStrategy.MAX_SPINS + ReactorIdleStrategy.MAX_YIELDS; i++) {
            idle.idle(0);
        }
        assertThat(host.parks).isZero();
        idle.idle(0);
        assertThat(host.parks).isEqualTo(1);
    }

    @Test
    void aDedicatedReactorKeepsPollingWhileItsIoIsInFlightForTheWholeWindow() {
        host.ioInFlight = true;
        for (int i = 0; i < 20_000; i++) {
            idle.idle(0);
        }
        assertThat(host.parks).as("polling within the IO window, however many empty cycles").isZero();
        realTime.advance(ReactorIdleStrategy.IO_POLL_NANOS);
        for (int i = 0; i < ReactorIdleStrategy.MAX_YIELDS; i++) {
            idle.idle(0);
        }
        assertThat(host.parks).isZero();
        idle.idle(0);
        assertThat(host.parks).isEqualTo(1);
    }

    @Test
    void workStartsTheSpinAgain() {
        for (int i = 0; i < ReactorIdleStrategy.MAX_SPINS + ReactorIdleStrategy.MAX_YIELDS; i++) {
            idle.idle(0);
        }
        idle.idle(3);
        for (int i = 0; i < ReactorIdleStrategy.MAX_SPINS + ReactorIdleStrategy.MAX_YIELDS; i++) {
            idle.idle(0);
        }
        assertThat(host.parks).isZero();
    }

    @Test
    void aSharedReactorParksOnEveryEmptyCycleEvenWithIoInFlight() {
        host.shares = true;
        host.ioInFlight = true;
        for (int i = 1; i <= 50; i++) {
            idle.idle(0);
            assertThat(host.parks).isEqualTo(i);
            idle.idle(1);
            assertThat(host.parks).as("a cycle with work does not park").isEqualTo(i);
        }
    }

    @Test
    void aReactorThatStartsSharingItsCoreParksAtItsNextEmptyCycle() {
        host.ioInFlight = true;
        for (int i = 0; i < 1_000; i++) {
            idle.idle(0);
        }
        assertThat(host.parks).isZero();
        host.shares = true;
        idle.idle(0);
        assertThat(host.parks).isEqualTo(1);
        host.shares = false;
        idle.idle(0);
        assertThat(host.parks).as("back to polling").isEqualTo(1);
    }
}
