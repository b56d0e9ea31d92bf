package io.github.batchnorm.stats;

import java.util.Locale;

/**
 * The check made before statistics or coefficients that store only some features spread them over every feature: a
 * 2^28-feature array of doubles is 2 GB, which a driver's heap may not hold, an array of 2^31 - 2 features is longer
 * than any Java array, and an out-of-memory error in the middle of a job says nothing about why. Public so that the
 * model's per-feature accessors (gamma and beta in effect) refuse the same way.
 */
public final class DenseArrays {
    /** The longest array a JVM allocates reliably (HotSpot reserves a few header words). */
    public static final int MAX_LENGTH = Integer.MAX_VALUE - 8;

    private static final String READ_STORED = "These values store only the features seen with a value other than zero"
            + " and one rule for the rest: read the stored features and their values instead.";

    private DenseArrays() {
    }

    /** {@link #require(long, long, String, String)} for statistics or coefficients, which have their stored values. */
    static void require(long length, long bytesPerValue, String what) {
        require(length, bytesPerValue, what, READ_STORED);
    }

    /**
     * Refuses {@code length} values of {@code bytesPerValue} bytes when that is longer than an array can be or more
     * than half of this JVM's maximum heap.
     *
     * @param what what the arrays are, for the message
     * @param instead the sentence that says what to use instead
     * @throws IllegalStateException saying how many features, how much memory, and what to use instead
     */
    public static void require(long length, long bytesPerValue, String what, String instead) {
        long bytes = length * bytesPerValue;
        long heap = Runtime.getRuntime().maxMemory();
        if (length > MAX_LENGTH || bytes > heap / 2) {
            throw new IllegalStateException(String.format(Locale.ROOT, "Cannot build %s of all %,d features: that"
                    + " needs %,d MB, %s. %s", what, length, bytes >> 20, length > MAX_LENGTH
                            ? "longer than a Java array can be" : "more than half of this JVM's " + (heap >> 20)
                                    + " MB heap", instead));
        }
    }
}
