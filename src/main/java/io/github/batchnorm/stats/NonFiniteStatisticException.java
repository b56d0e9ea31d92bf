package io.github.batchnorm.stats;

/** A feature's mean or variance came out NaN or infinite, so it cannot be used to normalise. */
public final class NonFiniteStatisticException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final int feature;

    public NonFiniteStatisticException(int feature, String statistic, double value) {
        super("feature " + feature + " has a non-finite " + statistic + " (" + value + "): the data contains NaN or infinite"
                + " values, or its variance exceeds the largest double");
        this.feature = feature;
    }

    /** The zero-based index of the offending feature. */
    public int feature() {
        return feature;
    }
}
