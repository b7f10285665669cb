package io.panastor.engine.nexus;

import io.panastor.engine.bdev.Bdev;
import java.util.List;

/**
 * What the IO path routes by: the children that take IO, each with the device it had when
 * the set was made, and the health generation the set belongs to. Immutable; the nexus
 * publishes a new one on every change, and each channel picks it up before its next IO.
 *
 * @param generation the nexus's health generation: a write completed under this set is
 *                   acknowledged only once the health of this generation is persisted
 * @param members    writable children (all IO but reads), those also readable flagged
 * @param open       whether the nexus takes IO at all (false once shutting down)
 * @param logs       the dirty logs of the children out of the IO path that keep one: every
 *                   write, unmap and write zeroes sent under this set is marked in each
 */
record ChildSet(long generation, List<Member> members, boolean open, DirtyLog[] logs) {
    /** One child in the IO path. */
    record Member(NexusChild child, Bdev bdev, boolean readable) {
    }
}
