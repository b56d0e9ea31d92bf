package io.github.batchnorm.stats;

import java.io.Serializable;

/**
 * What a fit folds rows into: a mergeable per-feature summary. Two implementations trade speed for reproducibility
 * ({@link Summation}): {@link FastFeatureSummary} (fast, double precision) and {@link ExactFeatureSummary} (exact sums, the
 * same bits for any partitioning and order).
 *
 * <p>The {@code add...} methods and {@link #merge} mutate this accumulator and return it, as Spark's
 * {@code treeAggregate} expects; {@code merge} never changes its argument. A new accumulator has no dimension yet and is
 * an identity for {@code merge} on both sides. Rows of weight zero are ignored (their length is still checked).
 */
public interface FeatureAccumulator extends Serializable {

    /** Adds a dense row whose every value is used. */
    FeatureAccumulator add(double[] values, double weight);

    /** Adds a dense row in which NaN and infinite values are missing for their own feature only. */
    FeatureAccumulator addWithMissing(double[] values, double weight);

    /** Adds a sparse row: {@code values[k]} is feature {@code indices[k]} for {@code k < stored}; the rest are zero. */
    FeatureAccumulator addSparse(int size, int[] indices, double[] values, int stored, double weight);

    /** Like {@link #addSparse}, with NaN and infinite stored values missing. */
    FeatureAccumulator addSparseWithMissing(int size, int[] indices, double[] values, int stored, double weight);

    /**
     * Merges {@code other}, which must be of the same implementation, into this accumulator.
     *
     * @throws DimensionMismatchException if both have rows and their dimensions differ
     */
    FeatureAccumulator merge(FeatureAccumulator other);

    /** Number of features, or -1 before the first row. */
    int dimension();

    /** Number of rows added with positive weight. */
    long count();

    /**
     * Whether every running sum is finite; does not change the accumulator. A NaN or infinite value added as a valid
     * value always leaves a non-finite sum, so a fit that does not check values one by one learns here whether it must.
     */
    boolean isFinite();


    /**
     * The statistics of everything added so far.
     *
     * @throws IllegalStateException if no row with positive weight was added
     * @throws NonFiniteStatisticException if a feature's mean or variance is not finite
     * @throws IllegalArgumentException if a feature has no value with positive weight
     */
    FeatureStatistics toStatistics();

    /**
     * The exact statistics of {@code base}'s rows and the rows summarised here together, as if one fit had seen both; a
     * feature with no value here keeps {@code base}'s statistics; an empty accumulator returns {@code base}.
     *
     * @throws IllegalArgumentException if {@code base} is not exact (see {@link FeatureStatistics#merge})
     */
    FeatureStatistics mergeInto(FeatureStatistics base);

    /**
     * {@code base} moved towards the statistics summarised here by an exponential moving average (see
     * {@link FeatureStatistics#movingAverage}); a feature with no value here keeps {@code base}'s running values.
     */
    FeatureStatistics movingAverageInto(FeatureStatistics base, double momentum, VarianceMode mode);
}
