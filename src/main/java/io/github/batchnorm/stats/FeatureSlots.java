package io.github.batchnorm.stats;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Feature indices to slots 0, 1, 2, ... in the order the features were added: how a summary in its touched-only form,
 * and coefficients that store only some features, find a feature's per-slot state. A task of a hashed column touches
 * hundreds of thousands of features scattered over 2^24 or more indices, so the lookup is an open-addressing table
 * (linear probing, at most half full up to 2^29 features, fuller beyond) rather than a search. Feature indices go up to
 * {@code Integer.MAX_VALUE - 2}, the last of the widest vectors Spark allows.
 *
 * <p>Mutable: {@link #insert} adds a feature. Serialised as its slots' features only; the table is rebuilt on reading.
 */
final class FeatureSlots implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int MIN_CAPACITY = 16;
    /**
     * The largest table: the largest power of two an array can be long. It holds 2^29 features at half load; past that
     * it fills further rather than doubling, whose length would overflow an int.
     */
    static final int MAX_TABLE = 1 << 30;

    /**
     * Entry {@code h} holds a feature index plus one in its high half (0: an empty entry) and the feature's slot in its
     * low half: key and slot in one array, so that a lookup among millions of features misses the cache once per probe,
     * not twice.
     */
    private transient long[] entries;
    /** {@code featureOfSlot[s]} is slot {@code s}'s feature, for {@code s < size}. */
    private int[] featureOfSlot;
    private int size;

    /** An empty map with room for {@code capacity} features before anything grows. */
    FeatureSlots(int capacity) {
        featureOfSlot = new int[Math.max(capacity, MIN_CAPACITY)];
        rehash(tableSizeFor(featureOfSlot.length));
    }

    /** The distinct {@code features}, slot {@code s} holding {@code features[s]}. */
    static FeatureSlots of(int[] features) {
        FeatureSlots slots = new FeatureSlots(features.length);
        for (int feature : features) {
            int point = slots.find(feature);
            if (point >= 0) {
                throw new IllegalArgumentException("feature " + feature + " is listed twice");
            }
            slots.insert(feature, point);
        }
        return slots;
    }

    /** A copy that changes independently of this one. */
    FeatureSlots copy() {
        FeatureSlots copy = new FeatureSlots(0);
        copy.featureOfSlot = featureOfSlot.clone();
        copy.size = size;
        copy.entries = table().clone();
        return copy;
    }

    /** Number of features held; their slots are {@code 0 .. size() - 1}. */
    int size() {
        return size;
    }

    /** The feature in slot {@code slot}. */
    int featureOf(int slot) {
        return featureOfSlot[slot];
    }

    /**
     * The slot of {@code feature} if it is held, else {@code -(point + 1)}, where {@code point} is where {@link #insert}
     * puts it: one probe serves both the lookup and the insertion. The answer is valid until the next change.
     */
    int find(int feature) {
        long[] entries = table();
        int mask = entries.length - 1;
        long key = feature + 1L;
        int h = hash(feature, mask);
        for (long found; (found = entries[h]) != 0; h = (h + 1) & mask) {
            if (found >>> 32 == key) {
                return (int) found;
            }
        }
        return -(h + 1);
    }

    /** The slot of {@code feature}, or -1 if it is not held. */
    int slotOf(int feature) {
        int found = find(feature);
        return found >= 0 ? found : -1;
    }

    /**
     * Adds {@code feature}, which {@link #find} just reported absent with {@code absentAt}, and returns its slot: the next
     * one, {@code size() - 1} after the call.
     */
    int insert(int feature, int absentAt) {
        if (size == featureOfSlot.length) {
            featureOfSlot = Arrays.copyOf(featureOfSlot, Math.max(MIN_CAPACITY, size + (size >> 1)));
        }
        if (size == entries.length - 1) {
            throw new IllegalStateException("Cannot hold more than " + (MAX_TABLE - 1) + " features in one table");
        }
        int h = -absentAt - 1;
        int slot = size++;
        featureOfSlot[slot] = feature;
        entries[h] = entry(feature, slot);
        if (2L * size > entries.length && entries.length < MAX_TABLE) {
            rehash(2 * entries.length);
        }
        return slot;
    }

    /**
     * Makes room for {@code features} features at once, so that adding a large batch (a merge) neither grows the arrays
     * nor rehashes the table step by step.
     */
    void reserve(int features) {
        if (features > featureOfSlot.length) {
            featureOfSlot = Arrays.copyOf(featureOfSlot, features);
        }
        if (2L * features > table().length) {
            rehash(tableSizeFor(features));
        }
    }

    /** The slots in increasing order of their features. */
    int[] slotsByFeature() {
        long[] keyed = new long[size];
        for (int s = 0; s < size; s++) {
            keyed[s] = ((long) featureOfSlot[s] << 32) | s;
        }
        Arrays.sort(keyed);
        int[] order = new int[size];
        for (int i = 0; i < size; i++) {
            order[i] = (int) keyed[i];
        }
        return order;
    }

    private static long entry(int feature, int slot) {
        return (feature + 1L) << 32 | (slot & 0xFFFFFFFFL);
    }

    private static int hash(int feature, int mask) {
        int h = feature * 0x9E3779B9;
        return (h ^ (h >>> 16)) & mask;
    }

    /** The smallest power of two that holds {@code features} at most half full, and at most {@link #MAX_TABLE}. */
    static int tableSizeFor(int features) {
        return (int) Math.min(MAX_TABLE, Math.max(2L * MIN_CAPACITY,
                Long.highestOneBit(Math.max(1L, 2L * features - 1)) << 1));
    }

    /**
     * The table, rebuilt first if this was read back by a serializer that skips transient fields (Kryo, where Spark is
     * configured for it), as {@code readObject} rebuilds it for Java serialization.
     */
    private long[] table() {
        if (entries == null) {
            rehash(tableSizeFor(size));
        }
        return entries;
    }

    private void rehash(int tableSize) {
        entries = new long[tableSize];
        int mask = tableSize - 1;
        for (int s = 0; s < size; s++) {
            int feature = featureOfSlot[s];
            int h = hash(feature, mask);
            while (entries[h] != 0) {
                h = (h + 1) & mask;
            }
            entries[h] = entry(feature, s);
        }
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        featureOfSlot = Arrays.copyOf(featureOfSlot, size);
        out.defaultWriteObject();
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        rehash(tableSizeFor(size));
    }
}
