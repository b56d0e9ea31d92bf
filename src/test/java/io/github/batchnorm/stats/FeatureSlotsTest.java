package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.SeededCases;
import io.github.batchnorm.testing.SeededCases.Case;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * The feature-to-slot table behaves as a map from feature to the order of first insertion, checked against a
 * {@link HashMap} on generated features: clustered, spread over every int index, and at both ends of the range.
 */
@DisplayName("FeatureSlots")
class FeatureSlotsTest {
    private static final int TRIES = 40;
    /** The largest index of the largest vector Spark allows ({@code Integer.MAX_VALUE - 1} features). */
    private static final int LAST_INDEX = Integer.MAX_VALUE - 2;
    private static final SerializerInstance KRYO = new KryoSerializer(new SparkConf()).newInstance();
    private static final ClassTag<FeatureSlots> TAG = ClassTag$.MODULE$.apply(FeatureSlots.class);

    /** Features to insert in order, repeats included (each later repeat must find the first one's slot). */
    private static int[] draw(SplittableRandom random) {
        int n = random.nextInt(1, 3_000);
        int[] features = new int[n];
        int span = SeededCases.oneOf(List.of(64, 5_000, 1 << 24, LAST_INDEX), random);
        for (int i = 0; i < n; i++) {
            features[i] = switch (random.nextInt(10)) {
                case 0 -> 0;
                case 1 -> LAST_INDEX;
                case 2 -> i > 0 ? features[random.nextInt(i)] : 7;
                default -> random.nextInt(span);
            };
        }
        return features;
    }

    private static Stream<Case<int[]>> featureSequences() {
        return SeededCases.cases(7021, TRIES, FeatureSlotsTest::draw);
    }

    /** Inserts {@code features} in order, the way a summary does, and returns the expected feature-to-slot map. */
    private static Map<Integer, Integer> insertAll(FeatureSlots slots, int[] features) {
        Map<Integer, Integer> expected = new HashMap<>();
        for (int feature : features) {
            int found = slots.find(feature);
            Integer slot = expected.get(feature);
            if (slot != null) {
                assertEquals(slot, found, "feature " + feature + " was inserted before");
            } else {
                assertTrue(found < 0, "feature " + feature + " was never inserted, find answered " + found);
                assertEquals(expected.size(), slots.insert(feature, found), "a new feature takes the next slot");
                expected.put(feature, expected.size());
            }
        }
        return expected;
    }

    private static void assertHolds(Map<Integer, Integer> expected, FeatureSlots slots, SplittableRandom random) {
        assertEquals(expected.size(), slots.size());
        for (Map.Entry<Integer, Integer> entry : expected.entrySet()) {
            assertEquals(entry.getValue(), slots.slotOf(entry.getKey()), "slot of " + entry.getKey());
            assertEquals(entry.getKey(), slots.featureOf(entry.getValue()), "feature of slot " + entry.getValue());
        }
        for (int i = 0; i < 200; i++) {
            int absent = random.nextInt(LAST_INDEX + 1);
            if (!expected.containsKey(absent)) {
                assertEquals(-1, slots.slotOf(absent), "feature " + absent + " was never inserted");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("featureSequences")
    void findsEveryInsertedFeatureInItsSlotAndNoOther(Case<int[]> features) {
        FeatureSlots slots = new FeatureSlots(0);
        Map<Integer, Integer> expected = insertAll(slots, features.value());
        assertHolds(expected, slots, new SplittableRandom(features.seed()));
    }

    @ParameterizedTest
    @MethodSource("featureSequences")
    void reservingRoomFirstChangesNoSlot(Case<int[]> features) {
        FeatureSlots reserved = new FeatureSlots(4);
        reserved.reserve(features.value().length);
        Map<Integer, Integer> expected = insertAll(reserved, features.value());
        assertHolds(expected, reserved, new SplittableRandom(features.seed()));
    }

    @ParameterizedTest
    @MethodSource("featureSequences")
    void aSerialisedCopyAndACloneHoldTheSameSlotsAndChangeApart(Case<int[]> features)
            throws IOException, ClassNotFoundException {
        FeatureSlots slots = new FeatureSlots(0);
        Map<Integer, Integer> expected = insertAll(slots, features.value());
        FeatureSlots copy = slots.copy();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(slots);
        }
        FeatureSlots read;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            read = (FeatureSlots) in.readObject();
        }
        SplittableRandom random = new SplittableRandom(features.seed());
        assertHolds(expected, read, random);
        assertHolds(expected, copy, random);

        int fresh = expected.containsKey(LAST_INDEX - 1) ? -1 : LAST_INDEX - 1;
        if (fresh >= 0) {
            copy.insert(fresh, copy.find(fresh));
            assertEquals(-1, slots.slotOf(fresh), "inserting into the copy leaves the original alone");
            assertEquals(expected.size(), copy.slotOf(fresh));
        }
    }

    @ParameterizedTest
    @MethodSource("featureSequences")
    void aTableReadBackByKryoFindsAndTakesFeaturesAsTheOriginal(Case<int[]> features) {
        // Kryo, which Spark may be configured to ship summaries with, skips the transient table.
        FeatureSlots slots = new FeatureSlots(0);
        Map<Integer, Integer> expected = insertAll(slots, features.value());
        FeatureSlots read = KRYO.deserialize(KRYO.serialize(slots, TAG), TAG);
        assertHolds(expected, read, new SplittableRandom(features.seed()));
        if (!expected.containsKey(LAST_INDEX - 1)) {
            assertEquals(expected.size(), read.insert(LAST_INDEX - 1, read.find(LAST_INDEX - 1)));
            assertEquals(expected.size(), read.slotOf(LAST_INDEX - 1));
        }
    }

    @ParameterizedTest
    @MethodSource("featureSequences")
    void listsItsSlotsInIncreasingOrderOfTheirFeatures(Case<int[]> features) {
        FeatureSlots slots = new FeatureSlots(0);
        Map<Integer, Integer> expected = insertAll(slots, features.value());
        List<Integer> sorted = new ArrayList<>(expected.keySet());
        sorted.sort(null);
        int[] expectedOrder = sorted.stream().mapToInt(expected::get).toArray();
        assertArrayEquals(expectedOrder, slots.slotsByFeature());
    }

    @ParameterizedTest
    @MethodSource("featureSequences")
    void aListOfDistinctFeaturesGetsTheirPositionsAsSlots(Case<int[]> features) {
        int[] distinct = Arrays.stream(features.value()).distinct().toArray();
        FeatureSlots slots = FeatureSlots.of(distinct);
        for (int s = 0; s < distinct.length; s++) {
            assertEquals(s, slots.slotOf(distinct[s]));
        }
        if (distinct.length < features.value().length) {
            IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                    () -> FeatureSlots.of(features.value()));
            assertTrue(twice.getMessage().contains("is listed twice"), twice.getMessage());
        }
    }

    @Test
    void theFeaturesAtBothEndsOfTheWidestVectorsFindTheirSlots() {
        int last = LAST_INDEX;
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
