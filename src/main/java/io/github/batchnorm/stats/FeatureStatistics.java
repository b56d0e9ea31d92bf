package io.github.batchnorm.stats;

import java.util.Arrays;
import java.util.Objects;

/**
 * The immutable statistics of a fitted dataset: row count, total weight, sum of squared weights, and per feature the mean
 * and the centred second moment {@code M2 = sum w * (x - mean)^2}.
 *
 * <p>Keeping {@code M2} rather than a variance means either variance convention ({@link VarianceMode}) can be derived later,
 * and the statistics of two datasets can be combined exactly. Arrays are copied on the way in and out.
 */
public final class FeatureStatistics {
    private final long count;
    private final double weightSum;
    private final double weightSquareSum;
    private final double[] mean;
    private final double[] m2;

    /**
     * @param count number of rows, {@code >= 1}
     * @param weightSum total row weight, finite and {@code > 0}
     * @param weightSquareSum sum of squared row weights, finite and {@code > 0}
     * @param mean per-feature mean, every value finite
     * @param m2 per-feature centred second moment, every value finite and {@code >= 0}, same length as {@code mean}
     * @throws NonFiniteStatisticException if a mean or second moment is NaN or infinite
     * @throws IllegalArgumentException if any other argument is out of range
     */
    public FeatureStatistics(long count, double weightSum, double weightSquareSum, double[] mean, double[] m2) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be >= 1 but was " + count);
        }
        if (!(weightSum > 0.0) || Double.isInfinite(weightSum)) {
            throw new IllegalArgumentException("weightSum must be finite and > 0 but was " + weightSum);
        }
        if (!(weightSquareSum > 0.0) || Double.isInfinite(weightSquareSum)) {
            throw new IllegalArgumentException("weightSquareSum must be finite and > 0 but was " + weightSquareSum);
        }
        if (mean.length != m2.length) {
            throw new IllegalArgumentException("mean has " + mean.length + " values but m2 has " + m2.length);
        }
        for (int j = 0; j < mean.length; j++) {
            if (!Double.isFinite(mean[j])) {
                throw new NonFiniteStatisticException(j, "mean", mean[j]);
            }
            if (!Double.isFinite(m2[j])) {
                throw new NonFiniteStatisticException(j, "variance", m2[j]);
            }
            if (m2[j] < 0.0) {
                throw new IllegalArgumentException("feature " + j + " has a negative second moment " + m2[j]);
            }
        }
        this.count = count;
        this.weightSum = weightSum;
        this.weightSquareSum = weightSquareSum;
        this.mean = mean.clone();
        this.m2 = m2.clone();
    }

    /** Number of features. */
    public int numFeatures() {
        return mean.length;
    }

    /** Number of rows summarised. */
    public long count() {
        return count;
    }

    /** Total row weight; equals {@link #count()} for unweighted data. */
    public double weightSum() {
        return weightSum;
    }

    /** Sum of squared row weights; equals {@link #count()} for unweighted data. */
    public double weightSquareSum() {
        return weightSquareSum;
    }

    /** Per-feature (weighted) mean; a fresh copy. */
    public double[] mean() {
        return mean.clone();
    }

    /** Per-feature centred second moment {@code sum w * (x - mean)^2}; a fresh copy. */
    public double[] m2() {
        return m2.clone();
    }

    /**
     * Per-feature variance in the given convention; a fresh array. A sample variance of a single row (denominator zero) is 0,
     * as in Spark's {@code Summarizer}, so it never yields NaN.
     */
    public double[] variance(VarianceMode mode) {
        double denominator = varianceDenominator(mode);
        double[] variance = new double[m2.length];
        if (denominator > 0.0) {
            for (int j = 0; j < m2.length; j++) {
                variance[j] = m2[j] / denominator;
            }
        }
        return variance;
    }

    private double varianceDenominator(VarianceMode mode) {
        switch (mode) {
            case POPULATION:
                return weightSum;
            case SAMPLE:
                // Unit (or 0/1) weights: sum(w^2) == W, so the correction is exactly W - 1; the general formula would round.
                return weightSquareSum == weightSum ? weightSum - 1.0 : weightSum - weightSquareSum / weightSum;
            default:
                throw new AssertionError(mode);
        }
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
        return count == that.count
                && Double.compare(weightSum, that.weightSum) == 0
                && Double.compare(weightSquareSum, that.weightSquareSum) == 0
                && Arrays.equals(mean, that.mean)
                && Arrays.equals(m2, that.m2);
    }

    @Override
    public int hashCode() {
        return Objects.hash(count, weightSum, weightSquareSum, Arrays.hashCode(mean), Arrays.hashCode(m2));
    }

    @Override
    public String toString() {
        return "FeatureStatistics(numFeatures=" + numFeatures() + ", count=" + count + ", weightSum=" + weightSum
                + ", mean=" + Summaries.abbreviate(mean) + ", m2=" + Summaries.abbreviate(m2) + ")";
    }
}
