package io.panastor.engine.bdev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.engine.Await;
import io.panastor.engine.error.EngineException;
import io.panastor.reactor.Reactor;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The registry's side of hot-remove, with a fake kind whose device the test removes: the bdev
 * is unregistered (its name free), its claimant hears it once on a thread that is no reactor,
 * and then it is destroyed.
 */
class BdevRemovalTest {
    /** Test kind {@code vanishing:///NAME}: no IO, but {@link Vanishing#vanish} reports the device gone. */
    static final class VanishingFactory implements BdevFactory {
        final List<Vanishing> made = new CopyOnWriteArrayList<>();

        @Override
        public List<String> schemes() {
            return List.of("vanishing");
        }

        @Override
        public Bdev create(BdevUri uri) {
            uri.requireOnly(Set.of());
            Vanishing v = new Vanishing(uri.simpleName(), uri.canonical());
            made.add(v);
            return v;
        }
    }

    static final class Vanishing extends AbstractBdev {
        final AtomicInteger releases = new AtomicInteger();

        Vanishing(String name, String uri) {
            super(name, UUID.randomUUID(), uri, 4096, 256);
        }

        void vanish(String why) {
            removed(why);
        }

        @Override
        public String productName() {
            return "vanishing (test)";
        }

        @Override
        protected IoChannel createChannel(Reactor reactor) {
            throw new UnsupportedOperationException();
        }

        @Override
        protected void release() {
            releases.incrementAndGet();
        }
    }

    final VanishingFactory kind = new VanishingFactory();
    final Bdevs bdevs = new Bdevs(List.of(kind));

    @Test
    void aRemovedClaimedBdevIsUnregisteredItsClaimantToldOnceOffAnyReactorThenDestroyed() throws Exception {
        Vanishing v = (Vanishing) bdevs.create("vanishing:///disk");
        AtomicInteger calls = new AtomicInteger();
        CompletableFuture<Boolean> registeredDuringListener = new CompletableFuture<>();
        CompletableFuture<Boolean> onReactor = new CompletableFuture<>();
        BdevClaim claim = bdevs.claim("disk", "mirror-1", c -> {
            calls.incrementAndGet();
            registeredDuringListener.complete(bdevs.lookup("disk").isPresent());
            onReactor.complete(Reactor.current() != null);
        });
        v.vanish("device unplugged");
        v.vanish("again");
        assertThat(registeredDuringListener.get(60, TimeUnit.SECONDS)).isFalse();
        assertThat(onReactor.get(60, TimeUnit.SECONDS)).isFalse();
        Await.until("the bdev destroyed", Duration.ofSeconds(60), () -> v.releases.get() == 1);
        assertThat(calls).hasValue(1);
        assertThat(claim.removed()).isTrue();
        assertThat(claim.released()).isTrue();
        assertThat(claim.removedReason()).isEqualTo("device unplugged");
        assertThat(v.removedReason()).isEqualTo("device unplugged");
        assertThat(bdevs.list()).isEmpty();
        assertThat(bdevs.claimant("disk")).isEmpty();
        claim.close();      // nothing more to release

        // The name is free again, and the new bdev of that name is unclaimed.
        Bdev again = bdevs.create("vanishing:///disk");
        assertThat(again).isNotSameAs(v);
        assertThat(bdevs.claimant("disk")).isEmpty();
        bdevs.claim("disk", "mirror-2").close();
        v.vanish("late");       // the old one again: nothing happens to the new one
        assertThat(bdevs.get("disk")).isSameAs(again);
        assertThat(calls).hasValue(1);
    }

    @Test
    void aRemovedUnclaimedBdevIsUnregisteredAndDestroyed() {
        Vanishing v = (Vanishing) bdevs.create("vanishing:///lone");
        v.vanish("gone");
        assertThat(bdevs.lookup("lone")).isEmpty();
        Await.until("the bdev destroyed", Duration.ofSeconds(60), () -> v.releases.get() == 1);
        assertThatThrownBy(() -> bdevs.claim("lone", "x")).isInstanceOfSatisfying(BdevException.class,
                e -> assertThat(e.reason()).isEqualTo(EngineException.Reason.NOT_FOUND));
    }

    @Test
    void aClaimWithoutAListenerOrClosedBeforeTheRemovalHearsNothing() throws Exception {
        Vanishing a = (Vanishing) bdevs.create("vanishing:///a");
        Vanishing b = (Vanishing) bdevs.create("vanishing:///b");
        BdevClaim plain = bdevs.claim("a", "pool-a");
        AtomicInteger calls = new AtomicInteger();
        bdevs.claim("b", "pool-b", c -> calls.incrementAndGet()).close();
        a.vanish("gone");
        b.vanish("gone");
        Await.until("both destroyed", Duration.ofSeconds(60), () -> a.releases.get() == 1 && b.releases.get() == 1);
        assertThat(plain.removed()).isTrue();
        assertThat(calls).hasValue(0);
        assertThat(bdevs.list()).isEmpty();
    }

    @Test
    void aDestroyedBdevThatReportsRemovalLaterChangesNothing() {
        Vanishing v = (Vanishing) bdevs.create("vanishing:///d");
        bdevs.destroy("d").join();
        Bdev same = bdevs.create("vanishing:///d");
        v.vanish("late");
        assertThat(bdevs.get("d")).isSameAs(same);
        assertThat(v.releases).hasValue(1);
    }
}
