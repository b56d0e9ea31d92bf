package io.github.batchnorm.stats;

/** Rows or summaries with different numbers of features were combined. */
public final class DimensionMismatchException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final int expected;
    private final int actual;

    public DimensionMismatchException(int expected, int actual) {
        super("rows have different numbers of features: " + expected + " and " + actual);
        this.expected = expected;
        this.actual = actual;
    }

    /** The number of features seen first. */
    public int expected() {
        return expected;
    }

    /** The number of features that did not match it. */
    public int actual() {
        return actual;
    }
}
