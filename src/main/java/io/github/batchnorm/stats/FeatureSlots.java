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
 * (linear probing, at most half full) rather than a search.
 *
 * <p>Mutable: {@link #insert} adds a feature. Serialised as its slots' features only; the table is rebuilt on reading.
 */
final class FeatureSlots implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int MIN_CAPACITY = 16;

    /** {@code keys[h]} is a feature index plus one (0: an empty entry) and {@code slotOfKey[h]} its slot. */
    private transient int[] keys;
    private transient int[] slotOfKey;
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
        if (keys == null) {
            // Read back by a serializer that skips transient fields (Kryo): the copy rebuilds the table, as readObject.
            copy.rehash(tableSizeFor(copy.featureOfSlot.length));
        } else {
            copy.keys = keys.clone();
            copy.slotOfKey = slotOfKey.clone();
        }
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
        int mask = keys.length - 1;
        int key = feature + 1;
        int h = hash(feature, mask);
        for (int found; (found = keys[h]) != 0; h = (h + 1) & mask) {
            if (found == key) {
                return slotOfKey[h];
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
        int h = -absentAt - 1;
        int slot = size++;
        featureOfSlot[slot] = feature;
        keys[h] = feature + 1;
        slotOfKey[h] = slot;
        if (2 * size > keys.length) {
            rehash(2 * keys.length);
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
        if (2L * features > keys.length) {
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

    private static int hash(int feature, int mask) {
        int h = feature * 0x9E3779B9;
        return (h ^ (h >>> 16)) & mask;
    }

    /** The smallest power of two that holds {@code features} at most half full. */
    private static int tableSizeFor(int features) {
        return (int) Math.max(2L * MIN_CAPACITY, Long.highestOneBit(Math.max(1L, 2L * features - 1)) << 1);
    }

    private void rehash(int tableSize) {
        keys = new int[tableSize];
        slotOfKey = new int[tableSize];
        int mask = tableSize - 1;
        for (int s = 0; s < size; s++) {
            int feature = featureOfSlot[s];
            int h = hash(feature, mask);
            while (keys[h] != 0) {
                h = (h + 1) & mask;
            }
            keys[h] = feature + 1;
            slotOfKey[h] = s;
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
