package io.github.batchnorm.stats;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A mergeable per-feature summary of weighted rows: total weight, and per feature the mean and centred second moment of the
 * values it was given explicitly. The only mutable type of the package.
 *
 * <p>Sparse rows only touch their stored entries: the entries a row leaves out are zeros, and are folded in once, in
 * {@link #toStatistics()}, with the same pairwise formula that {@link #merge} uses. Fitting a sparse column therefore costs
 * O(non-zeros), not O(rows x features).
 *
 * <p>Each feature is accumulated relative to a shift, the first value it was given: Welford's update runs on
 * {@code x - shift}, so that data far from zero (such as {@code 1e9 + N(0,1)}) keeps the precision of its spread instead of
 * losing it to the rounding of a large running mean. The shift and the shifted mean together hold the mean in about twice
 * a double's precision; they are added only in {@link #toStatistics()}. Summaries are combined with the pairwise formula of
 * Chan, Golub and LeVeque. While only dense rows have been added, every feature has seen the same weight, so one division
 * per row replaces one per value and no per-feature weight array is kept.
 *
 * <p>{@link #add}, {@link #addSparse} and {@link #merge} mutate this summary and return it, which is what Spark's
 * {@code treeAggregate} expects of its sequence and combine functions. {@code merge} never mutates its argument.
 * An empty summary ({@code new FeatureSummary()}) has no dimension yet and is an identity for {@code merge} on both sides.
 * Not thread-safe.
 */
public final class FeatureSummary implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Number of features, or -1 before the first row. */
    private int dimension = -1;
    private long count;
    private double weightSum;
    private double weightSquareSum;
    /** Per-feature weight of the explicitly seen values; null while every row was dense (it then equals weightSum). */
    private double[] seenWeight;
    /** Per-feature origin of the accumulation: the first value seen (0 until then). */
    private double[] shift;
    /** Per-feature mean of {@code x - shift} over the explicitly seen values. */
    private double[] shiftedMean;
    /** Per-feature centred second moment of the explicitly seen values. */
    private double[] m2;

    /** Creates an empty summary; its dimension is set by the first row or merge. */
    public FeatureSummary() {
    }

    /** Adds a dense row with weight 1. */
    public FeatureSummary add(double[] values) {
        return add(values, 1.0);
    }

    /**
     * Adds a dense row.
     *
     * @param values one value per feature; not retained
     * @param weight the row's weight, finite and {@code >= 0}; a zero weight counts the row but changes no statistic
     * @throws DimensionMismatchException if the row's length differs from earlier rows
     */
    public FeatureSummary add(double[] values, double weight) {
        requireValidWeight(weight);
        ensureDimension(values.length);
        count++;
        if (weight == 0.0) {
            return this;
        }
        if (seenWeight == null) {
            if (weightSum == 0.0) {
                System.arraycopy(values, 0, shift, 0, values.length);
            }
            addWeight(weight);
            final double ratio = weight / weightSum;
            final double[] origin = shift;
            final double[] mu = shiftedMean;
            final double[] moment = m2;
            for (int j = 0; j < values.length; j++) {
                double d = values[j] - origin[j];
                double delta = d - mu[j];
                mu[j] += delta * ratio;
                moment[j] += weight * delta * (d - mu[j]);
            }
        } else {
            addWeight(weight);
            for (int j = 0; j < values.length; j++) {
                updateFeature(j, values[j], weight);
            }
        }
        return this;
    }

    /** Adds a sparse row with weight 1. */
    public FeatureSummary addSparse(int size, int[] indices, double[] values) {
        return addSparse(size, indices, values, 1.0);
    }

    /**
     * Adds a sparse row: {@code values[k]} is feature {@code indices[k]}; every other feature is zero.
     *
     * @param size the row's number of features
     * @param indices strictly increasing feature indices, each in {@code [0, size)}; not retained
     * @param values the stored values, same length as {@code indices}; not retained
     * @param weight the row's weight, finite and {@code >= 0}
     * @throws DimensionMismatchException if {@code size} differs from earlier rows
     */
    public FeatureSummary addSparse(int size, int[] indices, double[] values, double weight) {
        requireValidWeight(weight);
        ensureDimension(size);
        count++;
        if (weight == 0.0) {
            return this;
        }
        materializeSeenWeight();
        addWeight(weight);
        for (int k = 0; k < indices.length; k++) {
            double x = values[k];
            if (x != 0.0) {
                updateFeature(indices[k], x, weight);
            }
        }
        return this;
    }

    private void addWeight(double weight) {
        weightSum += weight;
        weightSquareSum += weight * weight;
    }

    /** Welford's weighted update of one feature whose seen weight is tracked separately. */
    private void updateFeature(int j, double x, double weight) {
        double seen = seenWeight[j];
        if (seen == 0.0) {
            shift[j] = x;
        }
        double total = seen + weight;
        double d = x - shift[j];
        double delta = d - shiftedMean[j];
        shiftedMean[j] += delta * (weight / total);
        m2[j] += weight * delta * (d - shiftedMean[j]);
        seenWeight[j] = total;
    }

    /**
     * Merges {@code other} into this summary (this one is mutated, {@code other} is not) so that it summarises the rows of both.
     *
     * @throws DimensionMismatchException if both summaries have rows and their dimensions differ
     */
    public FeatureSummary merge(FeatureSummary other) {
        if (other.dimension < 0) {
            return this;
        }
        if (dimension >= 0 && dimension != other.dimension) {
            throw new DimensionMismatchException(dimension, other.dimension);
        }
        if (weightSum == 0.0) {
            long ownCount = count;
            copyFrom(other);
            count += ownCount;
            return this;
        }
        if (other.weightSum > 0.0) {
            if (seenWeight == null && other.seenWeight == null) {
                double ratioB = other.weightSum / (weightSum + other.weightSum);
                double cross = weightSum * ratioB;
                for (int j = 0; j < dimension; j++) {
                    mergeFeature(other, j, ratioB, cross);
                }
            } else {
                double[] seen = materializeSeenWeight();
                for (int j = 0; j < dimension; j++) {
                    double wb = other.seenWeightOf(j);
                    if (wb == 0.0) {
                        continue;
                    }
                    double wa = seen[j];
                    if (wa == 0.0) {
                        shift[j] = other.shift[j];
                        shiftedMean[j] = other.shiftedMean[j];
                        m2[j] = other.m2[j];
                    } else {
                        double ratioB = wb / (wa + wb);
                        mergeFeature(other, j, ratioB, wa * ratioB);
                    }
                    seen[j] = wa + wb;
                }
            }
        }
        count += other.count;
        weightSum += other.weightSum;
        weightSquareSum += other.weightSquareSum;
        return this;
    }

    /**
     * Chan's merge of one feature. The difference of the means is formed as the difference of the shifts (exact when they
     * are close, by Sterbenz's lemma) plus the difference of the shifted means, so large common offsets cancel exactly.
     */
    private void mergeFeature(FeatureSummary other, int j, double ratioB, double cross) {
        double delta = (other.shift[j] - shift[j]) + (other.shiftedMean[j] - shiftedMean[j]);
        shiftedMean[j] += delta * ratioB;
        m2[j] += other.m2[j] + delta * delta * cross;
    }

    private double seenWeightOf(int feature) {
        return seenWeight == null ? weightSum : seenWeight[feature];
    }

    private double[] materializeSeenWeight() {
        if (seenWeight == null) {
            seenWeight = new double[dimension];
            Arrays.fill(seenWeight, weightSum);
        }
        return seenWeight;
    }

    private void copyFrom(FeatureSummary other) {
        dimension = other.dimension;
        count = other.count;
        weightSum = other.weightSum;
        weightSquareSum = other.weightSquareSum;
        seenWeight = other.seenWeight == null ? null : other.seenWeight.clone();
        shift = other.shift.clone();
        shiftedMean = other.shiftedMean.clone();
        m2 = other.m2.clone();
    }

    private void ensureDimension(int size) {
        if (dimension == size) {
            return;
        }
        if (dimension >= 0) {
            throw new DimensionMismatchException(dimension, size);
        }
        if (size < 0) {
            throw new IllegalArgumentException("a row cannot have a negative number of features: " + size);
        }
        dimension = size;
        shift = new double[size];
        shiftedMean = new double[size];
        m2 = new double[size];
    }

    private static void requireValidWeight(double weight) {
        if (!(weight >= 0.0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("row weight must be finite and >= 0 but was " + weight);
        }
    }

    /** The number of features, or -1 if no row has been added yet. */
    public int dimension() {
        return dimension;
    }

    /** The number of rows added, including rows of weight zero. */
    public long count() {
        return count;
    }

    /** The sum of the row weights; equals {@link #count()} for unweighted rows. */
    public double weightSum() {
        return weightSum;
    }

    /**
     * The fitted statistics of everything added so far, with the zeros that sparse rows left out folded in.
     *
     * @throws IllegalStateException if no row with positive weight has been added
     * @throws NonFiniteStatisticException if a feature's mean or second moment is not finite (NaN or infinite input, or
     *     values too large to square)
     */
    public FeatureStatistics toStatistics() {
        if (dimension < 0 || weightSum == 0.0) {
            throw new IllegalStateException("no rows with positive weight have been summarised");
        }
        double[] fullMean = new double[dimension];
        double[] fullM2 = m2.clone();
        for (int j = 0; j < dimension; j++) {
            fullMean[j] = shift[j] + shiftedMean[j];
        }
        if (seenWeight != null) {
            for (int j = 0; j < dimension; j++) {
                double seen = seenWeight[j];
                double zeros = weightSum - seen;
                if (zeros > 0.0) {
                    // Chan's merge with a block of `zeros` weight at mean 0 and no spread.
                    double delta = -fullMean[j];
                    fullMean[j] += delta * (zeros / weightSum);
                    fullM2[j] += delta * delta * (seen * (zeros / weightSum));
                }
            }
        }
        return new FeatureStatistics(count, weightSum, weightSquareSum, fullMean, fullM2);
    }

    @Override
    public String toString() {
        return "FeatureSummary(dimension=" + dimension + ", count=" + count + ", weightSum=" + weightSum + ")";
    }
}
