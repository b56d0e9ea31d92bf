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
 * <p><b>Stored and implicit features.</b> Statistics either store every feature, or store only some features (in
 * increasing order, {@link #storedFeatures()}) and one rule for all the others, the <em>implicit</em> features: a
 * feature that no row gave a value other than zero (nor a missing value) has {@code count = rowCount}, the total weight
 * and squared weight of the rows ({@link #implicitWeightSum()}, {@link #implicitWeightSquareSum()}), mean 0 and
 * variance 0. A fit of sparse vectors of more than 2^20 features gives the second form, so a 2^28-feature model costs
 * what its touched features cost. Both forms answer every question; the per-feature arrays ({@link #mean()} and the
 * others) are built on request, and refused with a clear message when the dimension is too large for them.
 *
 * <p>Arrays are copied on the way in and out.
 */
public final class FeatureStatistics {
    private final long rowCount;
    private final int numFeatures;
    /** The features the per-feature arrays describe, increasing; null when they describe every feature. */
    private final int[] storedFeatures;
    /** The weight and squared weight of every implicit feature (0 when every feature is stored). */
    private final double implicitWeightSum;
    private final double implicitWeightSquareSum;
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
        this(rowCount, mean.length, null, 0.0, 0.0, count, weightSum, weightSquareSum, mean, variance, runningMode,
                adopt);
    }

    /** The general form; {@code storedFeatures} null means every feature is stored. */
    private FeatureStatistics(long rowCount, int numFeatures, int[] storedFeatures, double implicitWeightSum,
            double implicitWeightSquareSum, long[] count, double[] weightSum, double[] weightSquareSum, double[] mean,
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
        if (storedFeatures != null) {
            requireLength("storedFeatures", storedFeatures.length, n);
            requireStoredFeatures(storedFeatures, numFeatures);
            if (storedFeatures.length < numFeatures) {
                requireImplicitWeights(exact, implicitWeightSum, implicitWeightSquareSum);
            }
        }
        for (int s = 0; s < n; s++) {
            int j = storedFeatures == null ? s : storedFeatures[s];
            if (exact && (!(weightSum[s] > 0.0) || Double.isInfinite(weightSum[s]) || !(weightSquareSum[s] > 0.0)
                    || Double.isInfinite(weightSquareSum[s]))) {
                throw new InvalidFeatureException(j, "has no value with positive weight (weight "
                        + weightSum[s] + ", squared weight " + weightSquareSum[s] + ")");
            }
            if (!exact && (count[s] < 0 || !(weightSum[s] >= 0.0) || Double.isInfinite(weightSum[s])
                    || !(weightSquareSum[s] >= 0.0) || Double.isInfinite(weightSquareSum[s]))) {
                throw new InvalidFeatureException(j, "has a negative or non-finite count or weight (count "
                        + count[s] + ", weight " + weightSum[s] + ", squared weight " + weightSquareSum[s] + ")");
            }
            if (!Double.isFinite(mean[s])) {
                throw new NonFiniteStatisticException(j, "mean", mean[s]);
            }
            if (!Double.isFinite(variance[s])) {
                throw new NonFiniteStatisticException(j, "variance", variance[s]);
            }
            if (variance[s] < 0.0) {
                throw new InvalidFeatureException(j, "has a negative variance " + variance[s]);
            }
        }
        this.rowCount = rowCount;
        this.numFeatures = storedFeatures == null ? n : numFeatures;
        this.storedFeatures = storedFeatures == null ? null : adopt ? storedFeatures : storedFeatures.clone();
        this.implicitWeightSum = storedFeatures == null ? 0.0 : implicitWeightSum;
        this.implicitWeightSquareSum = storedFeatures == null ? 0.0 : implicitWeightSquareSum;
        this.count = adopt ? count : count.clone();
        this.weightSum = adopt ? weightSum : weightSum.clone();
        this.weightSquareSum = adopt ? weightSquareSum : weightSquareSum.clone();
        this.mean = adopt ? mean : mean.clone();
        this.variance = adopt ? variance : variance.clone();
        this.runningMode = runningMode;
    }

    private static void requireStoredFeatures(int[] storedFeatures, int numFeatures) {
        if (numFeatures < 0) {
            throw new IllegalArgumentException("numFeatures must be >= 0 but was " + numFeatures);
        }
        for (int s = 0; s < storedFeatures.length; s++) {
            int j = storedFeatures[s];
            if (j < 0 || j >= numFeatures || (s > 0 && j <= storedFeatures[s - 1])) {
                throw new IllegalArgumentException("storedFeatures must be increasing feature indices in [0, "
                        + numFeatures + "), but entry " + s + " is " + j
                        + (s > 0 ? " after " + storedFeatures[s - 1] : ""));
            }
        }
    }

    private static void requireImplicitWeights(boolean exact, double weight, double weightSquare) {
        boolean valid = exact ? weight > 0.0 && weightSquare > 0.0 : weight >= 0.0 && weightSquare >= 0.0;
        if (!valid || Double.isInfinite(weight) || Double.isInfinite(weightSquare)) {
            throw new IllegalArgumentException("the implicit features' weight must be finite and "
                    + (exact ? "> 0" : ">= 0") + " (it is every row's), but it is " + weight + " (squared weight "
                    + weightSquare + ")");
        }
    }

    /**
     * Exact statistics that store only {@code storedFeatures}; every other feature is implicit: zero in every row, so
     * {@code count = rowCount}, weight {@code implicitWeightSum}, squared weight {@code implicitWeightSquareSum}, mean 0
     * and variance 0.
     *
     * @param numFeatures the dimension, {@code >= storedFeatures.length}
     * @param storedFeatures the stored features, strictly increasing in {@code [0, numFeatures)}
     * @param count per stored feature, as in {@link #FeatureStatistics(long, long[], double[], double[], double[],
     *     double[])}, and so are the other arrays
     * @param implicitWeightSum the total weight of the rows, finite and {@code > 0}
     * @param implicitWeightSquareSum the total squared weight of the rows, finite and {@code > 0}
     * @throws IllegalArgumentException naming what is out of range
     */
    public static FeatureStatistics stored(long rowCount, int numFeatures, int[] storedFeatures, long[] count,
            double[] weightSum, double[] weightSquareSum, double[] mean, double[] variance, double implicitWeightSum,
            double implicitWeightSquareSum) {
        return new FeatureStatistics(rowCount, numFeatures, storedFeatures, implicitWeightSum, implicitWeightSquareSum,
                count, weightSum, weightSquareSum, mean, variance, null, false);
    }

    /**
     * Running statistics that store only {@code storedFeatures}, as {@link #stored} for exact ones: every other feature
     * has mean 0 and variance 0 (in {@code mode}), {@code count = rowCount} and the given weights ({@code >= 0}).
     */
    public static FeatureStatistics storedRunning(long rowCount, int numFeatures, int[] storedFeatures, long[] count,
            double[] weightSum, double[] weightSquareSum, double[] mean, double[] variance, double implicitWeightSum,
            double implicitWeightSquareSum, VarianceMode mode) {
        return new FeatureStatistics(rowCount, numFeatures, storedFeatures, implicitWeightSum, implicitWeightSquareSum,
                count, weightSum, weightSquareSum, mean, variance, Objects.requireNonNull(mode, "mode"), false);
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
        return numFeatures;
    }

    /** Whether every feature is stored, so that there are no implicit features. */
    public boolean storesEveryFeature() {
        return storedFeatures == null;
    }

    /** How many features are stored: {@link #numFeatures()} when every feature is. */
    public int storedFeatureCount() {
        return mean.length;
    }

    /**
     * The stored features, increasing: the features the {@code stored...} arrays describe. A fresh array; every feature
     * when every feature is stored.
     */
    public int[] storedFeatures() {
        return storedFeatures == null ? java.util.stream.IntStream.range(0, numFeatures).toArray()
                : storedFeatures.clone();
    }

    /**
     * The weight of each implicit feature: the total weight of the rows (see the class comment); 0 when every feature is
     * stored.
     */
    public double implicitWeightSum() {
        return implicitWeightSum;
    }

    /** The squared weight of each implicit feature; 0 when every feature is stored. */
    public double implicitWeightSquareSum() {
        return implicitWeightSquareSum;
    }

    /** Per stored feature, its number of values used (see {@link #count()}); a fresh copy. */
    public long[] storedCount() {
        return count.clone();
    }

    /** Per stored feature, its total weight; a fresh copy. */
    public double[] storedWeightSum() {
        return weightSum.clone();
    }

    /** Per stored feature, its sum of squared weights; a fresh copy. */
    public double[] storedWeightSquareSum() {
        return weightSquareSum.clone();
    }

    /** Per stored feature, its mean; a fresh copy. */
    public double[] storedMean() {
        return mean.clone();
    }

    /**
     * Per stored feature, its variance in {@code mode}, as {@link #variance(VarianceMode)}; a fresh array. Every
     * implicit feature's variance is 0 in either convention.
     */
    public double[] storedVariance(VarianceMode mode) {
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
        for (int s = 0; s < variance.length; s++) {
            sample[s] = sampleVariance(weightSum[s], weightSquareSum[s], variance[s]);
        }
        return sample;
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

    /**
     * Per-feature number of values used; smaller than {@link #rowCount()} where values were missing. A fresh array of
     * every feature.
     *
     * @throws IllegalStateException if the features are too many for an array in this JVM (see the class comment)
     */
    public long[] count() {
        if (storedFeatures == null) {
            return count.clone();
        }
        DenseArrays.require(numFeatures, Long.BYTES, "the per-feature counts");
        long[] all = new long[numFeatures];
        Arrays.fill(all, rowCount);
        for (int s = 0; s < count.length; s++) {
            all[storedFeatures[s]] = count[s];
        }
        return all;
    }

    /** Per-feature total weight; equals {@link #count()} for unweighted data. A fresh array of every feature. */
    public double[] weightSum() {
        return expand(weightSum, implicitWeightSum, "the per-feature weights");
    }

    /** Per-feature sum of squared weights; equals {@link #count()} for unweighted data. A fresh array of every feature. */
    public double[] weightSquareSum() {
        return expand(weightSquareSum, implicitWeightSquareSum, "the per-feature squared weights");
    }

    /** Per-feature (weighted) mean; a fresh array of every feature. */
    public double[] mean() {
        return expand(mean, 0.0, "the per-feature means");
    }

    /**
     * Per-feature variance in the given convention; a fresh array of every feature. A sample variance whose denominator
     * is zero (a single value) is 0, as in Spark's {@code Summarizer}, so it never yields NaN.
     *
     * @throws IllegalArgumentException for running statistics, if {@code mode} is not {@link #storedVarianceMode()}: the
     *     other convention needs the weights of the exact moments
     */
    public double[] variance(VarianceMode mode) {
        double[] stored = storedVariance(mode);
        return storedFeatures == null ? stored : expand(stored, 0.0, "the per-feature variances");
    }

    /** The stored values spread over every feature, implicit ones given {@code implicit}. */
    private double[] expand(double[] stored, double implicit, String what) {
        if (storedFeatures == null) {
            return stored.clone();
        }
        DenseArrays.require(numFeatures, Double.BYTES, what);
        double[] all = new double[numFeatures];
        if (implicit != 0.0) {
            Arrays.fill(all, implicit);
        }
        for (int s = 0; s < stored.length; s++) {
            all[storedFeatures[s]] = stored[s];
        }
        return all;
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
     * merge is commutative and associative up to rounding. When both sides store only some features, the result stores
     * the features either side stores, and the implicit ones stay implicit.
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
    FeatureStatistics merge(Moments batch) {
        if (!isExact()) {
            throw new IllegalArgumentException("cannot merge into running statistics exactly: they are not the moments of"
                    + " a dataset");
        }
        requireSameDimension(batch);
        int[] features = alignedFeatures(batch);
        Moments ours = moments().alignTo(features);
        Moments other = batch.alignTo(features);
        int n = ours.mean.length;
        long[] mergedCount = new long[n];
        double[] mergedWeight = new double[n];
        double[] mergedWeightSquare = new double[n];
        double[] mergedMean = ours.mean.clone();
        double[] mergedVariance = ours.variance.clone();
        for (int j = 0; j < n; j++) {
            mergedCount[j] = ours.count[j] + other.count[j];
            mergedWeight[j] = ours.weightSum[j] + other.weightSum[j];
            mergedWeightSquare[j] = ours.weightSquareSum[j] + other.weightSquareSum[j];
            double wb = other.weightSum[j];
            if (wb == 0.0) {
                continue;
            }
            double total = ours.weightSum[j] + wb;
            double ratioA = ours.weightSum[j] / total;
            double ratioB = wb / total;
            double delta = other.mean[j] - ours.mean[j];
            mergedMean[j] = ours.mean[j] + delta * ratioB;
            mergedVariance[j] = ratioA * ours.variance[j] + ratioB * other.variance[j]
                    + (delta * ratioA) * (delta * ratioB);
        }
        return new FeatureStatistics(rowCount + batch.rowCount, numFeatures, features,
                implicitWeightSum + batch.implicitWeightSum, implicitWeightSquareSum + batch.implicitWeightSquareSum,
                mergedCount, mergedWeight, mergedWeightSquare, mergedMean, mergedVariance, null, true);
    }

    /**
     * The features a merge of these statistics with {@code other} stores: those either side stores when both store only
     * some, else every feature (null).
     */
    private int[] alignedFeatures(Moments other) {
        if (storedFeatures == null || other.storedFeatures == null) {
            return null;
        }
        return union(storedFeatures, other.storedFeatures);
    }

    /** The sorted union of two increasing arrays. */
    static int[] union(int[] a, int[] b) {
        int[] merged = new int[a.length + b.length];
        int i = 0;
        int k = 0;
        int n = 0;
        while (i < a.length || k < b.length) {
            int next;
            if (k == b.length || (i < a.length && a[i] < b[k])) {
                next = a[i++];
            } else if (i == a.length || b[k] < a[i]) {
                next = b[k++];
            } else {
                next = a[i++];
                k++;
            }
            merged[n++] = next;
        }
        return n == merged.length ? merged : Arrays.copyOf(merged, n);
    }

    /**
     * Moves these statistics towards a batch's by an exponential moving average, Keras' convention:
     * {@code running = momentum * running + (1 - momentum) * batch} for the mean and for the variance, where the batch
     * variance is taken in {@code mode} (population: Keras' {@code moving_variance}; sample: PyTorch's
     * {@code running_var}, with {@code momentum = 1 - torch_momentum}). Counts and weights keep accumulating, for
     * information. The result is running statistics in {@code mode}; a feature implicit on both sides stays implicit
     * (its mean and variance stay 0).
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
    FeatureStatistics movingAverage(Moments batchMoments, double momentum, VarianceMode mode) {
        if (!(momentum >= 0.0 && momentum < 1.0)) {
            throw new IllegalArgumentException("momentum must be in [0, 1) but was " + momentum);
        }
        Objects.requireNonNull(mode, "mode");
        if (runningMode != null && runningMode != mode) {
            throw new IllegalArgumentException(conventionMismatch(mode));
        }
        requireSameDimension(batchMoments);
        int[] features = alignedFeatures(batchMoments);
        Moments ours = new Moments(rowCount, numFeatures, storedFeatures, implicitWeightSum, implicitWeightSquareSum,
                count, weightSum, weightSquareSum, mean, storedVariance(mode)).alignTo(features);
        Moments batch = batchMoments.alignTo(features);
        int n = ours.mean.length;
        long[] totalCount = new long[n];
        double[] totalWeight = new double[n];
        double[] totalWeightSquare = new double[n];
        double[] averagedMean = ours.mean.clone();
        double[] averagedVariance = ours.variance.clone();
        double keep = momentum;
        double take = 1.0 - momentum;
        for (int j = 0; j < n; j++) {
            totalCount[j] = ours.count[j] + batch.count[j];
            totalWeight[j] = ours.weightSum[j] + batch.weightSum[j];
            totalWeightSquare[j] = ours.weightSquareSum[j] + batch.weightSquareSum[j];
            double w = batch.weightSum[j];
            if (w == 0.0) {
                continue;
            }
            double batchVariance = mode == VarianceMode.POPULATION ? batch.variance[j]
                    : sampleVariance(w, batch.weightSquareSum[j], batch.variance[j]);
            averagedMean[j] = keep * ours.mean[j] + take * batch.mean[j];
            averagedVariance[j] = keep * ours.variance[j] + take * batchVariance;
        }
        return new FeatureStatistics(rowCount + batchMoments.rowCount, numFeatures, features,
                implicitWeightSum + batchMoments.implicitWeightSum,
                implicitWeightSquareSum + batchMoments.implicitWeightSquareSum, totalCount, totalWeight,
                totalWeightSquare, averagedMean, averagedVariance, mode, true);
    }

    private void requireSameDimension(Moments other) {
        if (other.numFeatures != numFeatures()) {
            throw new DimensionMismatchException(numFeatures(), other.numFeatures);
        }
    }

    /** The raw arrays, for the merges (no copies: neither side mutates them). */
    private Moments moments() {
        return new Moments(rowCount, numFeatures, storedFeatures, implicitWeightSum, implicitWeightSquareSum, count,
                weightSum, weightSquareSum, mean, variance);
    }

    /**
     * Per-feature moments with the population variance, in which a feature may have no value at all (weight, mean and
     * variance 0): what a batch with missing values contributes to a merge. Like the statistics, they store every feature
     * ({@code storedFeatures} null) or only some, the others being zero in every row. Not validated; package-internal.
     */
    static final class Moments {
        final long rowCount;
        final int numFeatures;
        final int[] storedFeatures;
        final double implicitWeightSum;
        final double implicitWeightSquareSum;
        final long[] count;
        final double[] weightSum;
        final double[] weightSquareSum;
        final double[] mean;
        final double[] variance;

        /** Moments of every feature. */
        Moments(long rowCount, long[] count, double[] weightSum, double[] weightSquareSum, double[] mean,
                double[] variance) {
            this(rowCount, mean.length, null, 0.0, 0.0, count, weightSum, weightSquareSum, mean, variance);
        }

        /** Moments of {@code storedFeatures} (null: every feature); each other feature is zero in every row. */
        Moments(long rowCount, int numFeatures, int[] storedFeatures, double implicitWeightSum,
                double implicitWeightSquareSum, long[] count, double[] weightSum, double[] weightSquareSum,
                double[] mean, double[] variance) {
            this.rowCount = rowCount;
            this.numFeatures = numFeatures;
            this.storedFeatures = storedFeatures;
            this.implicitWeightSum = storedFeatures == null ? 0.0 : implicitWeightSum;
            this.implicitWeightSquareSum = storedFeatures == null ? 0.0 : implicitWeightSquareSum;
            this.count = count;
            this.weightSum = weightSum;
            this.weightSquareSum = weightSquareSum;
            this.mean = mean;
            this.variance = variance;
        }

        /**
         * These moments over {@code features} (increasing, a superset of the stored ones; null: every feature), an
         * implicit feature given the values it stands for: {@code count = rowCount}, the implicit weights, mean 0 and
         * variance 0. Returns this when nothing moves.
         */
        Moments alignTo(int[] features) {
            if (features == storedFeatures || (features == null && storedFeatures == null)) {
                return this;
            }
            int n = features == null ? numFeatures : features.length;
            if (features == null) {
                DenseArrays.require(numFeatures, 5L * Double.BYTES, "the moments of every feature");
            }
            long[] alignedCount = new long[n];
            double[] alignedWeight = new double[n];
            double[] alignedWeightSquare = new double[n];
            double[] alignedMean = new double[n];
            double[] alignedVariance = new double[n];
            Arrays.fill(alignedCount, rowCount);
            Arrays.fill(alignedWeight, implicitWeightSum);
            Arrays.fill(alignedWeightSquare, implicitWeightSquareSum);
            int position = 0;
            for (int s = 0; s < mean.length; s++) {
                int j = storedFeatures == null ? s : storedFeatures[s];
                if (features == null) {
                    position = j;
                } else {
                    while (features[position] != j) {
                        position++;
                    }
                }
                alignedCount[position] = count[s];
                alignedWeight[position] = weightSum[s];
                alignedWeightSquare[position] = weightSquareSum[s];
                alignedMean[position] = mean[s];
                alignedVariance[position] = variance[s];
            }
            return new Moments(rowCount, numFeatures, features, implicitWeightSum, implicitWeightSquareSum,
                    alignedCount, alignedWeight, alignedWeightSquare, alignedMean, alignedVariance);
        }

        /**
         * Exact statistics that take over these arrays (the moments must not be used afterwards); fails as the
         * constructor does if a feature has no value.
         */
        FeatureStatistics toStatistics() {
            return new FeatureStatistics(rowCount, numFeatures, storedFeatures, implicitWeightSum,
                    implicitWeightSquareSum, count, weightSum, weightSquareSum, mean, variance, null, true);
        }
    }

    /**
     * Equal statistics describe every feature with the same bits, whichever features each stores: statistics that store
     * every feature equal statistics that store some, when the others have exactly the implicit values.
     */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof FeatureStatistics)) {
            return false;
        }
        FeatureStatistics that = (FeatureStatistics) o;
        if (rowCount != that.rowCount || runningMode != that.runningMode || numFeatures != that.numFeatures) {
            return false;
        }
        int[] features = storedFeatures == null || that.storedFeatures == null ? null
                : union(storedFeatures, that.storedFeatures);
        if (features != null && features.length < numFeatures
                && (Double.doubleToLongBits(implicitWeightSum) != Double.doubleToLongBits(that.implicitWeightSum)
                        || Double.doubleToLongBits(implicitWeightSquareSum)
                                != Double.doubleToLongBits(that.implicitWeightSquareSum))) {
            return false;
        }
        Moments ours = moments().alignTo(features);
        Moments theirs = that.moments().alignTo(features);
        return Arrays.equals(ours.count, theirs.count)
                && Arrays.equals(ours.weightSum, theirs.weightSum)
                && Arrays.equals(ours.weightSquareSum, theirs.weightSquareSum)
                && Arrays.equals(ours.mean, theirs.mean)
                && Arrays.equals(ours.variance, theirs.variance);
    }

    /** From the fields both forms share, so that equal statistics in either form hash alike. */
    @Override
    public int hashCode() {
        return Objects.hash(rowCount, runningMode, numFeatures);
    }

    @Override
    public String toString() {
        return "FeatureStatistics(numFeatures=" + numFeatures() + ", rowCount=" + rowCount
                + (runningMode == null ? "" : ", running " + runningMode)
                + (storedFeatures == null ? "" : ", " + storedFeatures.length + " stored features "
                        + VectorText.abbreviate(storedFeatures) + ", the others implicit")
                + ", mean=" + VectorText.abbreviate(mean) + ", variance=" + VectorText.abbreviate(variance) + ")";
    }
}
