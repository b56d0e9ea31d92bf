package io.github.batchnorm.stats;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.Serializable;
import java.math.BigInteger;
import java.util.Arrays;

/**
 * An exact sum of doubles (and of exact products and squares of doubles): no rounding ever happens, so the result is the
 * same, bit for bit, whatever order the terms arrive in and however the work is split and merged.
 *
 * <p>The sum is a fixed-point integer in carry-save form: 32-bit digits held in 64-bit words, each word free to
 * accumulate about two billion signed digits before carries must be propagated. A double's 53-bit significand lands in
 * three consecutive words at a position given by its exponent. Only the words the data actually reaches are allocated
 * (a window that grows on demand), so a feature whose values span a few orders of magnitude costs a handful of words,
 * not the 140 words that the full exponent range would need. This is Neal's "small superaccumulator" (arXiv 1505.05571)
 * with a sparse window.
 *
 * <p>Mutable; {@link #merge} mutates this sum and never its argument. Not thread-safe.
 */
public final class ExactSum extends ExactAdder implements Serializable {
    private static final long serialVersionUID = 1L;

    static final long DIGIT_MASK = 0xFFFF_FFFFL;
    /** Propagate carries before any word could overflow: each add puts less than 2^32 into a word. */
    static final int ADDS_BEFORE_CARRY = 1 << 30;

    /** Adds allowed between carry propagations; a constant but for tests, which lower it to exercise the carries. */
    private final int addsBeforeCarry;
    /** Index of the first allocated word; meaningful only when {@code words != null}. */
    private int low;
    private long[] words;
    private int addsSinceCarry;

    /** An empty sum (zero). */
    public ExactSum() {
        this(ADDS_BEFORE_CARRY);
    }

    ExactSum(int addsBeforeCarry) {
        this.addsBeforeCarry = addsBeforeCarry;
    }

    @Override
    void addSignificand(long significand, int position) {
        int word = position >>> 5;
        int shift = position & 31;
        if (words == null || word < low || word + 2 >= low + words.length) {
            reserve(word, word + 2);
        }
        if (++addsSinceCarry >= addsBeforeCarry) {
            propagateCarries();
            addsSinceCarry = 1;
        }
        addDigits(words, word - low, significand, shift);
    }

    /** Adds {@code significand * 2^shift} to the three words from {@code index}. */
    static void addDigits(long[] words, int index, long significand, int shift) {
        // significand * 2^shift spans at most 86 signed bits: two unsigned 32-bit digits and a signed top.
        long lowBits = significand << shift;
        long top = (significand >> 32) >> (32 - shift);
        words[index] += lowBits & DIGIT_MASK;
        words[index + 1] += lowBits >>> 32;
        words[index + 2] += top;
    }

    /** Makes sure words {@code from..to} (inclusive) are allocated, with slack so growth is rare. */
    private void reserve(int from, int to) {
        if (words == null) {
            low = Math.max(0, from - 1);
            words = new long[to + 2 - low];
            return;
        }
        int newLow = Math.max(0, Math.min(low, from - 2));
        int newHigh = Math.max(low + words.length - 1, to + 2);
        long[] grown = new long[newHigh - newLow + 1];
        System.arraycopy(words, 0, grown, low - newLow, words.length);
        words = grown;
        low = newLow;
    }

    /** Brings every word but the last into [0, 2^32), carrying upward; the value is unchanged. */
    private void propagateCarries() {
        if (words == null) {
            return;
        }
        long overflow = carry(words, 0, words.length);
        if (overflow != 0) {
            int above = low + words.length;
            reserve(above, above);
            words[above - low] += overflow;
        }
        addsSinceCarry = 0;
    }

    /**
     * Brings words {@code from .. from + length - 1} but the last into [0, 2^32), carrying upward, and returns what the
     * last word holds beyond a signed 32-bit digit (0 if nothing; then the last word keeps its sign): the caller adds it
     * to a word above, the value unchanged.
     */
    static long carry(long[] words, int from, int length) {
        long carry = 0;
        int last = from + length - 1;
        for (int i = from; i < last; i++) {
            long value = words[i] + carry;
            words[i] = value & DIGIT_MASK;
            carry = value >> 32;
        }
        long value = words[last] + carry;
        long overflow = value >> 32;
        if (overflow != 0 && overflow != -1) {
            words[last] = value & DIGIT_MASK;
            return overflow;
        }
        words[last] = value;
        return 0;
    }

    /** Adds {@code other} into this sum exactly; {@code other} is not changed. */
    public ExactSum merge(ExactSum other) {
        if (other.words == null) {
            return this;
        }
        reserve(other.low, other.low + other.words.length - 1);
        if ((long) addsSinceCarry + other.addsSinceCarry >= addsBeforeCarry - 1) {
            propagateCarries();
            if (other.addsSinceCarry >= addsBeforeCarry - 1) {
                // The argument is full of un-carried digits too: add a carried copy of it instead.
                ExactSum carried = other.copy();
                carried.propagateCarries();
                return merge(carried);
            }
        }
        int offset = other.low - low;
        for (int i = 0; i < other.words.length; i++) {
            words[offset + i] += other.words[i];
        }
        // A fully carried argument still adds up to 2^32 to each word: that counts as one add.
        addsSinceCarry += Math.max(1, other.addsSinceCarry);
        return this;
    }

    ExactSum copy() {
        ExactSum copy = new ExactSum(addsBeforeCarry);
        copy.low = low;
        copy.words = words == null ? null : words.clone();
        copy.addsSinceCarry = addsSinceCarry;
        return copy;
    }

    /** Makes this sum zero again, keeping its words for reuse. */
    void clear() {
        if (words != null) {
            Arrays.fill(words, 0L);
        }
        addsSinceCarry = 0;
    }

    /**
     * Makes this sum equal to the words {@code from .. from + length - 1} of {@code source}, the first at {@code low},
     * reusing this sum's words when they are long enough.
     */
    void setTo(long[] source, int from, int length, int low, int adds) {
        if (words == null || words.length < length) {
            words = new long[length];
        } else {
            Arrays.fill(words, length, words.length, 0L);
        }
        System.arraycopy(source, from, words, 0, length);
        this.low = low;
        addsSinceCarry = adds;
    }

    /**
     * Writes the sum in its shortest form: carries propagated, zero words at either end left out, every word in 32 bits
     * (the top one signed). A sum of values within a few orders of magnitude takes a handful of bytes: the point of it is
     * the size of the summaries a fit ships between executors and to the driver.
     */
    void writeCompact(DataOutput out) throws IOException {
        propagateCarries();
        writeCompact(words, 0, words == null ? 0 : words.length, low, out);
    }

    /** {@link #writeCompact(DataOutput)} of the carried words {@code from .. from + length - 1}, the first at {@code low}. */
    static void writeCompact(long[] words, int from, int length, int low, DataOutput out) throws IOException {
        int first = from;
        int to = from + length - 1;
        // The zero words below the lowest digit and above the highest carry no information.
        while (first <= to && words[first] == 0) {
            first++;
        }
        if (to < first) {
            writeVarInt(out, 0);
            return;
        }
        // Leading words that only repeat the sign of the word below them carry no information.
        long top = words[to];
        while (to > first) {
            if (top == 0 && words[to - 1] < 0x8000_0000L) {
                top = words[--to];
            } else if (top == -1 && words[to - 1] >= 0x8000_0000L) {
                top = words[--to] - 0x1_0000_0000L;
            } else {
                break;
            }
        }
        boolean extraTop = top != (int) top;
        writeVarInt(out, to - first + 1 + (extraTop ? 1 : 0));
        writeVarInt(out, low + first - from);
        for (int i = first; i < to; i++) {
            out.writeInt((int) words[i]);
        }
        out.writeInt((int) top);
        if (extraTop) {
            out.writeInt((int) (top >> 32));
        }
    }

    /** Reads a sum written by {@link #writeCompact}. */
    static ExactSum readCompact(DataInput in) throws IOException {
        ExactSum sum = new ExactSum();
        int length = readVarInt(in);
        if (length == 0) {
            return sum;
        }
        sum.low = readVarInt(in);
        // One spare word on top, so the first carry propagation does not have to grow the array.
        sum.words = new long[length + 1];
        readDigits(in, sum.words, 0, length);
        return sum;
    }

    /**
     * Reads the {@code length} digits of a compact sum (after its length and first word) into {@code words} from
     * {@code from}, and the top digit's sign into the word above them.
     */
    static void readDigits(DataInput in, long[] words, int from, int length) throws IOException {
        int last = from + length - 1;
        for (int i = from; i < last; i++) {
            words[i] = in.readInt() & DIGIT_MASK;
        }
        long top = in.readInt();
        words[last] = top & DIGIT_MASK;
        words[last + 1] = top >> 32;
    }

    static void writeVarInt(DataOutput out, int value) throws IOException {
        int rest = value;
        while ((rest & ~0x7F) != 0) {
            out.writeByte((rest & 0x7F) | 0x80);
            rest >>>= 7;
        }
        out.writeByte(rest);
    }

    static int readVarInt(DataInput in) throws IOException {
        int value = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            int b = in.readByte();
            value |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        throw new IOException("malformed variable-length integer");
    }

    /**
     * Writes into {@code out} two doubles whose sum is within {@code 2^-100} (relative) of this sum: the top digits of its
     * magnitude added in double-double arithmetic, the sign applied at the end. A deterministic function of the exact
     * value, whatever the order of the adds that made it. Returns false (and writes nothing) when the sum reaches below
     * 2^-900 or above 2^900, where scaling the digits could underflow or overflow.
     */
    boolean toDoubleDouble(double[] out) {
        if (words == null) {
            out[0] = 0.0;
            out[1] = 0.0;
            return true;
        }
        propagateCarries();
        return toDoubleDouble(words, 0, words.length, low, out);
    }

    /** {@link #toDoubleDouble(double[])} of the carried words {@code from .. from + length - 1}, the first at {@code low}. */
    static boolean toDoubleDouble(long[] words, int from, int length, int low, double[] out) {
        int top = length - 1;
        while (top > 0 && words[from + top] == 0) {
            top--;
        }
        boolean negative = words[from + top] < 0;
        long[] digits = words;
        int offset = from;
        if (negative) {
            // The magnitude's digits: negate every digit and propagate again.
            digits = new long[top + 2];
            offset = 0;
            long carry = 0;
            for (int i = 0; i <= top + 1; i++) {
                long value = (i <= top ? -words[from + i] : 0) + carry;
                digits[i] = value & DIGIT_MASK;
                carry = value >> 32;
            }
            top = digits.length - 1;
            while (top > 0 && digits[top] == 0) {
                top--;
            }
        }
        int baseExponent = 32 * low - 1074 - OFFSET_BITS;
        int topExponent = baseExponent + 32 * top;
        if (topExponent > 900 || topExponent - 32 * 5 < -900) {
            return false;
        }
        double hi = 0.0;
        double lo = 0.0;
        for (int i = top; i >= 0 && i >= top - 5; i--) {
            double term = Math.scalb((double) digits[offset + i], baseExponent + 32 * i);
            double sum = hi + term;
            double bp = sum - hi;
            double error = (hi - (sum - bp)) + (term - bp);
            lo += error;
            hi = sum + lo;
            lo = lo - (hi - sum);
        }
        out[0] = negative ? -hi : hi;
        out[1] = negative ? -lo : lo;
        return true;
    }

    /** The exact sum. */
    public ExactValue value() {
        return words == null ? ExactValue.ZERO : value(words, 0, words.length, low);
    }

    /** The exact value of the words {@code from .. from + length - 1}, the first at {@code low}. */
    static ExactValue value(long[] words, int from, int length, int low) {
        BigInteger total = BigInteger.ZERO;
        for (int i = from + length - 1; i >= from; i--) {
            total = total.shiftLeft(32).add(BigInteger.valueOf(words[i]));
        }
        return new ExactValue(total, 32 * low - 1074 - OFFSET_BITS);
    }

    /** The sum rounded once to the nearest double (ties to even); infinite if it exceeds the double range. */
    public double toDouble() {
        return value().toDouble();
    }

    /** Allocated words: the memory this sum holds, for sizing. */
    public int allocatedWords() {
        return words == null ? 0 : words.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExactSum && value().equals(((ExactSum) o).value());
    }

    @Override
    public int hashCode() {
        return value().hashCode();
    }

    @Override
    public String toString() {
        return "ExactSum(" + toDouble() + ", " + Arrays.toString(words) + " from word " + low + ")";
    }
}
