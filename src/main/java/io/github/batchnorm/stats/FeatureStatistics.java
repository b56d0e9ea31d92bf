package io.github.batchnorm.stats;

import java.util.Arrays;
import java.util.Objects;

/**
 * The immutable statistics of a fitted dataset: the number of rows, and per feature the count, weight and squared weight
 * of the values it was fitted on (they differ between features only when missing values were left out), the mean and the
 * population variance.
 *
 * <p>Weights and the population variance are kept, rather than one variance convention, so that either
 * {@link VarianceMode} can be derived later and the statistics of two datasets can be combined exactly. Arrays are copied
 * on the way in and out.
 */
public final class FeatureStatistics {
    private final long rowCount;
    private final long[] count;
    private final double[] weightSum;
    private final double[] weightSquareSum;
    private final double[] mean;
    private final double[] variance;

    /**
     * @param rowCount number of rows summarised (with positive weight), {@code >= 1}
     * @param count per-feature number of values used
     * @param weightSum per-feature total weight of the values used, finite and {@code > 0}
     * @param weightSquareSum per-feature sum of squared weights, finite and {@code > 0}
     * @param mean per-feature (weighted) mean, finite
     * @param variance per-feature (weighted) population variance, finite and {@code >= 0}
     * @throws NonFiniteStatisticException if a mean or variance is NaN or infinite
     * @throws IllegalArgumentException if any other argument is out of range or the lengths differ
     */
    public FeatureStatistics(long rowCount, long[] count, double[] weightSum, double[] weightSquareSum, double[] mean,
            double[] variance) {
        if (rowCount < 1) {
            throw new IllegalArgumentException("rowCount must be >= 1 but was " + rowCount);
        }
        int n = mean.length;
        requireLength("count", count.length, n);
        requireLength("weightSum", weightSum.length, n);
        requireLength("weightSquareSum", weightSquareSum.length, n);
        requireLength("variance", variance.length, n);
        for (int j = 0; j < n; j++) {
            if (!(weightSum[j] > 0.0) || Double.isInfinite(weightSum[j]) || !(weightSquareSum[j] > 0.0)
                    || Double.isInfinite(weightSquareSum[j])) {
                throw new IllegalArgumentException("feature " + j + " has no value with positive weight (weight "
                        + weightSum[j] + ", squared weight " + weightSquareSum[j] + ")");
            }
            if (!Double.isFinite(mean[j])) {
                throw new NonFiniteStatisticException(j, "mean", mean[j]);
            }
            if (!Double.isFinite(variance[j])) {
                throw new NonFiniteStatisticException(j, "variance", variance[j]);
            }
            if (variance[j] < 0.0) {
                throw new IllegalArgumentException("feature " + j + " has a negative variance " + variance[j]);
            }
        }
        this.rowCount = rowCount;
        this.count = count.clone();
        this.weightSum = weightSum.clone();
        this.weightSquareSum = weightSquareSum.clone();
        this.mean = mean.clone();
        this.variance = variance.clone();
    }

    /** Statistics of unweighted rows with no missing values: every feature has {@code rowCount} values of weight 1. */
    public static FeatureStatistics unweighted(long rowCount, double[] mean, double[] populationVariance) {
        long[] count = new long[mean.length];
        double[] weights = new double[mean.length];
        Arrays.fill(count, rowCount);
        Arrays.fill(weights, rowCount);
        return new FeatureStatistics(rowCount, count, weights, weights, mean, populationVariance);
    }

    private static void requireLength(String name, int length, int expected) {
        if (length != expected) {
            throw new IllegalArgumentException("mean has " + expected + " values but " + name + " has " + length);
        }
    }

    /** Number of features. */
    public int numFeatures() {
        return mean.length;
    }

    /** Number of rows summarised; rows of weight zero are not counted. */
    public long rowCount() {
        return rowCount;
    }

    /** Per-feature number of values used; smaller than {@link #rowCount()} where values were missing. A fresh copy. */
    public long[] count() {
        return count.clone();
    }

    /** Per-feature total weight; equals {@link #count()} for unweighted data. A fresh copy. */
    public double[] weightSum() {
        return weightSum.clone();
    }

    /** Per-feature sum of squared weights; equals {@link #count()} for unweighted data. A fresh copy. */
    public double[] weightSquareSum() {
        return weightSquareSum.clone();
    }

    /** Per-feature (weighted) mean; a fresh copy. */
    public double[] mean() {
        return mean.clone();
    }

    /**
     * Per-feature variance in the given convention; a fresh array. A sample variance whose denominator is zero (a single
     * value) is 0, as in Spark's {@code Summarizer}, so it never yields NaN.
     */
    public double[] variance(VarianceMode mode) {
        if (mode == VarianceMode.POPULATION) {
            return variance.clone();
        }
        double[] sample = new double[variance.length];
        for (int j = 0; j < variance.length; j++) {
            double w = weightSum[j];
            // Unit (or 0/1) weights: sum(w^2) == W, so the reliability correction is exactly W - 1.
            double corrected = weightSquareSum[j] == w ? w - 1.0 : w - weightSquareSum[j] / w;
            sample[j] = corrected > 0.0 ? variance[j] * (w / corrected) : 0.0;
        }
        return sample;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof FeatureStatistics)) {
            return false;
        }
        FeatureStatistics that = (FeatureStatistics) o;
        return rowCount == that.rowCount
                && Arrays.equals(count, that.count)
                && Arrays.equals(weightSum, that.weightSum)
                && Arrays.equals(weightSquareSum, that.weightSquareSum)
                && Arrays.equals(mean, that.mean)
                && Arrays.equals(variance, that.variance);
    }

    @Override
    public int hashCode() {
        return Objects.hash(rowCount, Arrays.hashCode(count), Arrays.hashCode(weightSum), Arrays.hashCode(weightSquareSum),
                Arrays.hashCode(mean), Arrays.hashCode(variance));
    }

    @Override
    public String toString() {
        return "FeatureStatistics(numFeatures=" + numFeatures() + ", rowCount=" + rowCount
                + ", mean=" + Summaries.abbreviate(mean) + ", variance=" + Summaries.abbreviate(variance) + ")";
    }
}
