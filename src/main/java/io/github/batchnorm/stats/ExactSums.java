package io.github.batchnorm.stats;

import java.io.DataInput;
import java.io.IOException;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Many {@link ExactSum}s, one per slot, in one array: each slot's window of digits (the same digits, windows and carries
 * as an {@code ExactSum}'s) lies in a shared arena behind a one-word header (its first word's index, its length, its adds
 * since the last carry). A summary of a million features holds two of these instead of two million objects: adding,
 * merging, reading and finalising its sums allocate nothing per feature, and a feature's header and digits share a cache
 * line. A window that must grow moves to the end of the arena; the space it leaves is reclaimed when the arena is full
 * and more than half of it is left behind.
 *
 * <p>Mutable; {@link #merge} never changes its argument. Not thread-safe.
 */
final class ExactSums extends ExactAdder implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final long ADDS_MASK = 0xFFFF_FFFFL;

    /** Adds allowed between carry propagations of a window; a constant but for tests, which lower it. */
    private final int addsBeforeCarry;
    /** Per slot, the index of its window's header in {@link #words}; 0 (never a header) while the slot's sum is zero. */
    private int[] at;
    /** The arena: from index 1, headers each followed by their window's digits, and windows left behind. */
    private long[] words;
    /** Words of the arena in use, word 0 included; the rest are zero. */
    private int used = 1;
    /** Words of windows that moved. */
    private int abandoned;
    /** The slot {@link #slot} selected, the one the inherited adds go to. */
    private int current;

    /** Zero in each of {@code slots} slots. */
    ExactSums(int slots) {
        this(slots, ExactSum.ADDS_BEFORE_CARRY);
    }

    ExactSums(int slots, int addsBeforeCarry) {
        this.addsBeforeCarry = addsBeforeCarry;
        at = new int[slots];
        words = new long[16];
    }

    private static long header(int low, int length, int adds) {
        return (long) low << 48 | (long) length << 32 | adds;
    }

    private static int lowOf(long header) {
        return (int) (header >>> 48);
    }

    private static int lengthOf(long header) {
        return (int) (header >>> 32) & 0xFFFF;
    }

    private static int addsOf(long header) {
        return (int) header;
    }

    /** Slot {@code s}'s sum, to add to: valid until the next call. */
    ExactAdder slot(int s) {
        current = s;
        return this;
    }

    /** A copy that changes independently of this one. */
    ExactSums copy() {
        ExactSums copy = new ExactSums(0, addsBeforeCarry);
        copy.at = at.clone();
        copy.words = Arrays.copyOf(words, used);
        copy.used = used;
        copy.abandoned = abandoned;
        return copy;
    }

    /** Whether slot {@code s} holds a sum (one that has had a non-zero term). */
    boolean has(int s) {
        return at[s] != 0;
    }

    /** Makes room for {@code slots} slots (never fewer than there are). */
    void resize(int slots) {
        at = Arrays.copyOf(at, slots);
    }

    /** Moves slot {@code s}'s sum to slot {@code features.featureOf(s)} of {@code slots} slots. */
    void spreadTo(int slots, FeatureSlots features) {
        int[] moved = new int[slots];
        for (int s = 0; s < features.size(); s++) {
            moved[features.featureOf(s)] = at[s];
        }
        at = moved;
    }

    /** Makes room for {@code extra} more words, so that a merge of many slots grows the arena at most once. */
    void reserveWords(long extra) {
        if (used + extra > words.length) {
            words = Arrays.copyOf(words, Math.toIntExact(used + extra));
        }
    }

    /** Words the sums hold (their digits and headers, not the space left behind): for sizing. */
    long allocatedWords() {
        return used - 1 - abandoned;
    }

    @Override
    void addSignificand(long significand, int position) {
        int s = current;
        int word = position >>> 5;
        int a = at[s];
        if (a == 0 || word < lowOf(words[a]) || word + 2 >= lowOf(words[a]) + lengthOf(words[a])) {
            reserve(s, word, word + 2);
            a = at[s];
        }
        long header = words[a];
        int adds = addsOf(header) + 1;
        if (adds >= addsBeforeCarry) {
            propagateCarries(s);
            a = at[s];
            header = words[a];
            adds = 1;
        }
        words[a] = (header & ~ADDS_MASK) | adds;
        ExactSum.addDigits(words, a + 1 + word - lowOf(header), significand, position & 31);
    }

    /** Makes sure slot {@code s}'s window holds words {@code from..to} (inclusive), with slack so growth is rare. */
    private void reserve(int s, int from, int to) {
        if (at[s] == 0) {
            int low = Math.max(0, from - 1);
            int length = to + 2 - low;
            int a = claim(1 + length);
            words[a] = header(low, length, 0);
            at[s] = a;
            return;
        }
        long header = words[at[s]];
        int low = lowOf(header);
        int length = lengthOf(header);
        if (from >= low && to < low + length) {
            return;
        }
        int newLow = Math.max(0, Math.min(low, from - 2));
        int newLength = Math.max(low + length - 1, to + 2) - newLow + 1;
        int b = claim(1 + newLength);
        // Claiming may have compacted the arena: the window is where at[s] says now.
        int a = at[s];
        System.arraycopy(words, a + 1, words, b + 1 + low - newLow, length);
        words[b] = header(newLow, newLength, addsOf(header));
        at[s] = b;
        abandoned += 1 + length;
    }

    /** The index of {@code n} zero words at the end of the arena, which grows or is compacted when full. */
    private int claim(int n) {
        if (used + n > words.length) {
            int live = used - abandoned;
            if (abandoned > live) {
                compact(n);
            } else {
                words = Arrays.copyOf(words, Math.max(used + n, words.length + (words.length >> 1)));
            }
        }
        int a = used;
        used += n;
        return a;
    }

    /** Copies the windows in use, slot by slot, into a new arena with room for {@code extra} more words. */
    private void compact(int extra) {
        int live = used - abandoned;
        long[] compacted = new long[Math.max(16, live + extra + (live >> 1))];
        int next = 1;
        for (int s = 0; s < at.length; s++) {
            int a = at[s];
            if (a != 0) {
                int n = 1 + lengthOf(words[a]);
                System.arraycopy(words, a, compacted, next, n);
                at[s] = next;
                next += n;
            }
        }
        words = compacted;
        used = next;
        abandoned = 0;
    }

    /** Brings slot {@code s}'s words but the last into [0, 2^32), carrying upward; the value is unchanged. */
    private void propagateCarries(int s) {
        int a = at[s];
        if (a == 0) {
            return;
        }
        long header = words[a];
        long overflow = ExactSum.carry(words, a + 1, lengthOf(header));
        if (overflow != 0) {
            int above = lowOf(header) + lengthOf(header);
            reserve(s, above, above);
            a = at[s];
            words[a + 1 + above - lowOf(words[a])] += overflow;
        }
        words[a] &= ~ADDS_MASK;
    }

    /** Adds slot {@code os} of {@code other} into slot {@code s} exactly; {@code other} is not changed. */
    void merge(int s, ExactSums other, int os) {
        int oa = other.at[os];
        if (oa != 0) {
            long header = other.words[oa];
            addWindow(s, other.words, oa + 1, lengthOf(header), lowOf(header), addsOf(header));
        }
    }

    /**
     * Adds the words {@code from .. from + length - 1} of {@code source}, the first at word {@code low}, with
     * {@code sourceAdds} adds since their carries, to slot {@code s}; {@code source} is not changed.
     */
    private void addWindow(int s, long[] source, int from, int length, int low, int sourceAdds) {
        reserve(s, low, low + length - 1);
        int a = at[s];
        if ((long) addsOf(words[a]) + sourceAdds >= addsBeforeCarry - 1) {
            propagateCarries(s);
            if (sourceAdds >= addsBeforeCarry - 1) {
                // The argument is full of un-carried digits too: add a carried copy of it instead.
                long[] carried = new long[length + 1];
                System.arraycopy(source, from, carried, 0, length);
                carried[length] = ExactSum.carry(carried, 0, length);
                addWindow(s, carried, 0, length + 1, low, 0);
                return;
            }
            a = at[s];
        }
        long header = words[a];
        int offset = a + 1 + low - lowOf(header);
        for (int i = 0; i < length; i++) {
            words[offset + i] += source[from + i];
        }
        // A fully carried argument still adds up to 2^32 to each word: that counts as one add.
        words[a] = (header & ~ADDS_MASK) | (addsOf(header) + Math.max(1, sourceAdds));
    }

    /** Makes {@code scratch} equal to slot {@code s}'s sum. */
    void copyTo(int s, ExactSum scratch) {
        int a = at[s];
        if (a == 0) {
            scratch.clear();
        } else {
            long header = words[a];
            scratch.setTo(words, a + 1, lengthOf(header), lowOf(header), addsOf(header));
        }
    }

    /** Reads a sum written by {@link ExactSum#writeCompact} into slot {@code s}, which must hold none. */
    void readCompact(int s, DataInput in) throws IOException {
        int length = ExactSum.readVarInt(in);
        if (length == 0) {
            return;
        }
        if (at[s] != 0) {
            throw new IllegalStateException("slot " + s + " already holds a sum");
        }
        int low = ExactSum.readVarInt(in);
        // One spare word on top, as ExactSum.readCompact leaves, for the top digit's sign.
        int a = claim(2 + length);
        words[a] = header(low, length + 1, 0);
        ExactSum.readDigits(in, words, a + 1, length);
        at[s] = a;
    }

    /** {@link ExactSum#toDoubleDouble} of slot {@code s}'s sum. */
    boolean toDoubleDouble(int s, double[] out) {
        if (at[s] == 0) {
            out[0] = 0.0;
            out[1] = 0.0;
            return true;
        }
        propagateCarries(s);
        int a = at[s];
        long header = words[a];
        return ExactSum.toDoubleDouble(words, a + 1, lengthOf(header), lowOf(header), out);
    }

    /** Slot {@code s}'s exact sum. */
    ExactValue value(int s) {
        int a = at[s];
        if (a == 0) {
            return ExactValue.ZERO;
        }
        long header = words[a];
        return ExactSum.value(words, a + 1, lengthOf(header), lowOf(header));
    }

    @Override
    public String toString() {
        return "ExactSums(" + at.length + " slots, " + allocatedWords() + " words)";
    }
}
