package io.github.batchnorm.stats;

import java.util.Arrays;
import java.util.Objects;

/**
 * The immutable statistics a model normalises with: the number of rows, and per feature the count, weight and squared
 * weight of the values summarised (they differ between features only when missing values were left out), the mean and
 * the variance.
 *
 * <p>Statistics are of one of two kinds.
 * <ul>
 *   <li><b>Exact</b> ({@link #isExact()}): the moments of a dataset, as a fit computes them. The variance is kept in the
 *       population convention next to the weights, so that either {@link VarianceMode} can be derived, and two exact
 *       statistics {@link #merge merge} into exactly the statistics of both datasets.</li>
 *   <li><b>Running</b>: an exponential moving average ({@link #movingAverage}), or values trained elsewhere (a Keras
 *       layer's {@code moving_mean}/{@code moving_variance}, a PyTorch layer's {@code running_mean}/{@code running_var}).
 *       They are not the moments of any dataset: their variance exists in one convention only
 *       ({@link #storedVarianceMode()}), and their counts and weights say how much data went into them, for information
 *       (zero for imported values). They cannot be merged exactly, only moved further by a moving average.</li>
 * </ul>
 *
 * <p>Arrays are copied on the way in and out.
 */
public final class FeatureStatistics {
    private final long rowCount;
    private final long[] count;
    private final double[] weightSum;
    private final double[] weightSquareSum;
    private final double[] mean;
    private final double[] variance;
    /** Null for exact statistics; for running statistics, the convention their variance is in. */
    private final VarianceMode runningMode;

    /**
     * Exact statistics.
     *
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
        this(rowCount, count, weightSum, weightSquareSum, mean, variance, null, false);
    }

    /**
     * @param adopt whether the arrays are fresh and owned by no one else, so they are kept rather than copied: a fit's
     *     statistics of 2^24 features are six arrays of 128 MB each, and a copy doubles the driver's peak
     */
    private FeatureStatistics(long rowCount, long[] count, double[] weightSum, double[] weightSquareSum, double[] mean,
            double[] variance, VarianceMode runningMode, boolean adopt) {
        boolean exact = runningMode == null;
        if (rowCount < (exact ? 1 : 0)) {
            throw new IllegalArgumentException("rowCount must be >= " + (exact ? 1 : 0) + " but was " + rowCount);
        }
        int n = mean.length;
        requireLength("count", count.length, n);
        requireLength("weightSum", weightSum.length, n);
        requireLength("weightSquareSum", weightSquareSum.length, n);
        requireLength("variance", variance.length, n);
        for (int j = 0; j < n; j++) {
            if (exact && (!(weightSum[j] > 0.0) || Double.isInfinite(weightSum[j]) || !(weightSquareSum[j] > 0.0)
                    || Double.isInfinite(weightSquareSum[j]))) {
                throw new InvalidFeatureException(j, "has no value with positive weight (weight "
                        + weightSum[j] + ", squared weight " + weightSquareSum[j] + ")");
            }
            if (!exact && (count[j] < 0 || !(weightSum[j] >= 0.0) || Double.isInfinite(weightSum[j])
                    || !(weightSquareSum[j] >= 0.0) || Double.isInfinite(weightSquareSum[j]))) {
                throw new InvalidFeatureException(j, "has a negative or non-finite count or weight (count "
                        + count[j] + ", weight " + weightSum[j] + ", squared weight " + weightSquareSum[j] + ")");
            }
            if (!Double.isFinite(mean[j])) {
                throw new NonFiniteStatisticException(j, "mean", mean[j]);
            }
            if (!Double.isFinite(variance[j])) {
                throw new NonFiniteStatisticException(j, "variance", variance[j]);
            }
            if (variance[j] < 0.0) {
                throw new InvalidFeatureException(j, "has a negative variance " + variance[j]);
            }
        }
        this.rowCount = rowCount;
        this.count = adopt ? count : count.clone();
        this.weightSum = adopt ? weightSum : weightSum.clone();
        this.weightSquareSum = adopt ? weightSquareSum : weightSquareSum.clone();
        this.mean = adopt ? mean : mean.clone();
        this.variance = adopt ? variance : variance.clone();
        this.runningMode = runningMode;
    }

    /** Statistics of unweighted rows with no missing values: every feature has {@code rowCount} values of weight 1. */
    public static FeatureStatistics unweighted(long rowCount, double[] mean, double[] populationVariance) {
        long[] count = new long[mean.length];
        double[] weights = new double[mean.length];
        Arrays.fill(count, rowCount);
        Arrays.fill(weights, rowCount);
        return new FeatureStatistics(rowCount, count, weights, weights, mean, populationVariance);
    }

    /**
     * Running statistics with the given counts and weights (how much data went into them; {@code >= 0}).
     *
     * @param variance per-feature variance in the convention {@code mode}, finite and {@code >= 0}
     * @param mode the convention of {@code variance}: the only one these statistics can give
     */
    public static FeatureStatistics running(long rowCount, long[] count, double[] weightSum, double[] weightSquareSum,
            double[] mean, double[] variance, VarianceMode mode) {
        return new FeatureStatistics(rowCount, count, weightSum, weightSquareSum, mean, variance,
                Objects.requireNonNull(mode, "mode"), false);
    }

    /**
     * Running statistics trained elsewhere, with no count: for example a Keras layer's {@code moving_mean} and
     * {@code moving_variance} (population convention) or a PyTorch layer's {@code running_mean} and {@code running_var}
     * (a moving average of unbiased, that is sample, batch variances).
     */
    public static FeatureStatistics running(double[] mean, double[] variance, VarianceMode mode) {
        int n = mean.length;
        return running(0, new long[n], new double[n], new double[n], mean, variance, mode);
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

    /**
     * Whether these are the exact moments of the rows summarised (a fit, or fits merged with {@link #merge}), rather than
     * running statistics.
     */
    public boolean isExact() {
        return runningMode == null;
    }

    /**
     * The convention the variance is stored in: population for exact statistics (from which the sample variance is
     * derived), and for running statistics the one convention they have.
     */
    public VarianceMode storedVarianceMode() {
        return runningMode == null ? VarianceMode.POPULATION : runningMode;
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
     *
     * @throws IllegalArgumentException for running statistics, if {@code mode} is not {@link #storedVarianceMode()}: the
     *     other convention needs the weights of the exact moments
     */
    public double[] variance(VarianceMode mode) {
        if (runningMode != null) {
            if (mode != runningMode) {
                throw new IllegalArgumentException(conventionMismatch(mode));
            }
            return variance.clone();
        }
        if (mode == VarianceMode.POPULATION) {
            return variance.clone();
        }
        double[] sample = new double[variance.length];
        for (int j = 0; j < variance.length; j++) {
            sample[j] = sampleVariance(weightSum[j], weightSquareSum[j], variance[j]);
        }
        return sample;
    }

    /** Why running statistics cannot give their variance in {@code mode}. */
    public String conventionMismatch(VarianceMode mode) {
        return "these are running statistics whose variance is a " + runningMode + " variance; it cannot be converted to"
                + " a " + mode + " variance, which needs the weights of exact moments";
    }

    /** The sample variance of values with weight {@code w}, squared weight {@code w2} and population variance {@code var}. */
    private static double sampleVariance(double w, double w2, double var) {
        // Unit (or 0/1) weights: sum(w^2) == W, so the reliability correction is exactly W - 1.
        double corrected = w2 == w ? w - 1.0 : w - w2 / w;
        return corrected > 0.0 ? var * (w / corrected) : 0.0;
    }

    /**
     * The exact statistics of both datasets together: what one fit over the rows of this and of {@code other} gives, up to
     * rounding. Counts and weights add; means and variances combine by Chan, Golub and LeVeque's pairwise formula. The
     * merge is commutative and associative up to rounding.
     *
     * @throws IllegalArgumentException if either side is running statistics, which are not moments of a dataset
     * @throws DimensionMismatchException if the numbers of features differ
     * @throws NonFiniteStatisticException if a merged variance overflows
     */
    public FeatureStatistics merge(FeatureStatistics other) {
        if (!other.isExact()) {
            throw new IllegalArgumentException("cannot merge running statistics exactly: they are not the moments of a"
                    + " dataset");
        }
        return merge(other.moments());
    }

    /** {@link #merge(FeatureStatistics)} with moments in which a feature may have no value (weight 0): it keeps ours. */
    FeatureStatistics merge(Moments other) {
        if (!isExact()) {
            throw new IllegalArgumentException("cannot merge into running statistics exactly: they are not the moments of"
                    + " a dataset");
        }
        requireSameDimension(other);
        int n = numFeatures();
        long[] mergedCount = new long[n];
        double[] mergedWeight = new double[n];
        double[] mergedWeightSquare = new double[n];
        double[] mergedMean = mean.clone();
        double[] mergedVariance = variance.clone();
        for (int j = 0; j < n; j++) {
            mergedCount[j] = count[j] + other.count[j];
            mergedWeight[j] = weightSum[j] + other.weightSum[j];
            mergedWeightSquare[j] = weightSquareSum[j] + other.weightSquareSum[j];
            double wb = other.weightSum[j];
            if (wb == 0.0) {
                continue;
            }
            double total = weightSum[j] + wb;
            double ratioA = weightSum[j] / total;
            double ratioB = wb / total;
            double delta = other.mean[j] - mean[j];
            mergedMean[j] = mean[j] + delta * ratioB;
            mergedVariance[j] = ratioA * variance[j] + ratioB * other.variance[j] + (delta * ratioA) * (delta * ratioB);
        }
        return new FeatureStatistics(rowCount + other.rowCount, mergedCount, mergedWeight, mergedWeightSquare,
                mergedMean, mergedVariance);
    }

    /**
     * Moves these statistics towards a batch's by an exponential moving average, Keras' convention:
     * {@code running = momentum * running + (1 - momentum) * batch} for the mean and for the variance, where the batch
     * variance is taken in {@code mode} (population: Keras' {@code moving_variance}; sample: PyTorch's
     * {@code running_var}, with {@code momentum = 1 - torch_momentum}). Counts and weights keep accumulating, for
     * information. The result is running statistics in {@code mode}.
     *
     * @param batch exact statistics of the new batch
     * @param momentum in {@code [0, 1)}: the weight kept by the running values
     * @throws IllegalArgumentException if {@code momentum} is out of range, {@code batch} is not exact, or these are running
     *     statistics in the other convention
     * @throws DimensionMismatchException if the numbers of features differ
     */
    public FeatureStatistics movingAverage(FeatureStatistics batch, double momentum, VarianceMode mode) {
        if (!batch.isExact()) {
            throw new IllegalArgumentException("the batch of a moving average must be exact statistics of the batch's rows");
        }
        return movingAverage(batch.moments(), momentum, mode);
    }

    /** {@link #movingAverage(FeatureStatistics, double, VarianceMode)} with moments in which a feature may have no value. */
    FeatureStatistics movingAverage(Moments batch, double momentum, VarianceMode mode) {
        if (!(momentum >= 0.0 && momentum < 1.0)) {
            throw new IllegalArgumentException("momentum must be in [0, 1) but was " + momentum);
        }
        Objects.requireNonNull(mode, "mode");
        if (runningMode != null && runningMode != mode) {
            throw new IllegalArgumentException(conventionMismatch(mode));
        }
        requireSameDimension(batch);
        double[] running = variance(mode);
        int n = numFeatures();
        long[] totalCount = new long[n];
        double[] totalWeight = new double[n];
        double[] totalWeightSquare = new double[n];
        double[] averagedMean = mean.clone();
        double[] averagedVariance = running.clone();
        double keep = momentum;
        double take = 1.0 - momentum;
        for (int j = 0; j < n; j++) {
            totalCount[j] = count[j] + batch.count[j];
            totalWeight[j] = weightSum[j] + batch.weightSum[j];
            totalWeightSquare[j] = weightSquareSum[j] + batch.weightSquareSum[j];
            double w = batch.weightSum[j];
            if (w == 0.0) {
                continue;
            }
            double batchVariance = mode == VarianceMode.POPULATION ? batch.variance[j]
                    : sampleVariance(w, batch.weightSquareSum[j], batch.variance[j]);
            averagedMean[j] = keep * mean[j] + take * batch.mean[j];
            averagedVariance[j] = keep * running[j] + take * batchVariance;
        }
        return running(rowCount + batch.rowCount, totalCount, totalWeight, totalWeightSquare, averagedMean,
                averagedVariance, mode);
    }

    private void requireSameDimension(Moments other) {
        if (other.mean.length != numFeatures()) {
            throw new DimensionMismatchException(numFeatures(), other.mean.length);
        }
    }

    /** The raw arrays, for the merges (no copies: neither side mutates them). */
    private Moments moments() {
        return new Moments(rowCount, count, weightSum, weightSquareSum, mean, variance);
    }

    /**
     * Per-feature moments with the population variance, in which a feature may have no value at all (weight, mean and
     * variance 0): what a batch with missing values contributes to a merge. Not validated; package-internal.
     */
    static final class Moments {
        final long rowCount;
        final long[] count;
        final double[] weightSum;
        final double[] weightSquareSum;
        final double[] mean;
        final double[] variance;

        Moments(long rowCount, long[] count, double[] weightSum, double[] weightSquareSum, double[] mean,
                double[] variance) {
            this.rowCount = rowCount;
            this.count = count;
            this.weightSum = weightSum;
            this.weightSquareSum = weightSquareSum;
            this.mean = mean;
            this.variance = variance;
        }

        /**
         * Exact statistics that take over these arrays (the moments must not be used afterwards); fails as the
         * constructor does if a feature has no value.
         */
        FeatureStatistics toStatistics() {
            return new FeatureStatistics(rowCount, count, weightSum, weightSquareSum, mean, variance, null, true);
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
        return rowCount == that.rowCount
                && runningMode == that.runningMode
                && Arrays.equals(count, that.count)
                && Arrays.equals(weightSum, that.weightSum)
                && Arrays.equals(weightSquareSum, that.weightSquareSum)
                && Arrays.equals(mean, that.mean)
                && Arrays.equals(variance, that.variance);
    }

    @Override
    public int hashCode() {
        return Objects.hash(rowCount, runningMode, Arrays.hashCode(count), Arrays.hashCode(weightSum),
                Arrays.hashCode(weightSquareSum), Arrays.hashCode(mean), Arrays.hashCode(variance));
    }

    @Override
    public String toString() {
        return "FeatureStatistics(numFeatures=" + numFeatures() + ", rowCount=" + rowCount
                + (runningMode == null ? "" : ", running " + runningMode)
                + ", mean=" + VectorText.abbreviate(mean) + ", variance=" + VectorText.abbreviate(variance) + ")";
    }
}
