package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class FeatureSlotsTest {

    @Test
    void theFeaturesAtBothEndsOfTheWidestVectorsFindTheirSlots() {
        int last = Integer.MAX_VALUE - 2;
        FeatureSlots slots = FeatureSlots.of(new int[] {last, 0, 1 << 30, last - 1});
        assertEquals(0, slots.slotOf(last));
        assertEquals(1, slots.slotOf(0));
        assertEquals(2, slots.slotOf(1 << 30));
        assertEquals(3, slots.slotOf(last - 1));
        assertEquals(-1, slots.slotOf(1));
        assertEquals(-1, slots.slotOf(last - 2));
        FeatureSlots copy = slots.copy();
        copy.insert(7, copy.find(7));
        assertEquals(4, copy.slotOf(7));
        assertEquals(-1, slots.slotOf(7), "the copy changes alone");
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> FeatureSlots.of(new int[] {last, last}));
        assertEquals("feature 2147483645 is listed twice", twice.getMessage());
    }

    @Test
    void theTableIsThePowerOfTwoThatHoldsTheFeaturesHalfFullUpToTheLargestAnIntArrayCanBe() {
        assertEquals(32, FeatureSlots.tableSizeFor(0));
        assertEquals(32, FeatureSlots.tableSizeFor(16));
        assertEquals(64, FeatureSlots.tableSizeFor(17));
        assertEquals(1 << 30, FeatureSlots.tableSizeFor(1 << 29));
        // Doubling would overflow an int: the table stays at 2^30 entries and fills further.
        assertEquals(1 << 30, FeatureSlots.tableSizeFor((1 << 29) + 1));
        assertEquals(1 << 30, FeatureSlots.tableSizeFor(Integer.MAX_VALUE - 1));
    }
}
