package io.github.batchnorm.stats;

import java.util.Arrays;

/**
 * The exact accumulator as it was before blocks: every value goes straight into its feature's superaccumulators. Kept in
 * the test sources as the baseline of the micro-benchmarks and as a second, independent exact implementation.
 *
 * <p>Former documentation:
 * A per-feature summary kept as exact sums: per feature {@code sum w*x} and {@code sum w*x*x}, plus the total weight and
 * squared weight, each an {@link ExactSum}. Nothing is rounded until {@link #toStatistics()}, which derives the mean
 * {@code S1/W} and the population variance {@code (W*S2 - S1^2) / W^2} exactly and rounds each once. Hence:
 * <ul>
 *   <li>the result is the same, bit for bit, however the rows are partitioned, ordered, merged or retried;</li>
 *   <li>mean and variance are within one ulp of their exact values even under heavy cancellation (a large common offset,
 *       magnitudes from 1e-8 to 1e8).</li>
 * </ul>
 * Zeros are never added, so sparse rows cost O(non-zeros) and features a partition never touches allocate nothing.
 * Memory is a few words per sum: each {@link ExactSum} holds only the binary window its values reach.
 *
 * <p>Mutable; {@link #merge} never changes its argument. Not thread-safe.
 */
final class PerValueExactSummary implements FeatureAccumulator {
    private static final long serialVersionUID = 1L;

    private int dimension = -1;
    private long count;
    private final ExactSum weightSum = new ExactSum();
    private final ExactSum weightSquareSum = new ExactSum();
    /** Per-feature exact sums; an entry stays null until its feature sees a non-zero value. */
    private ExactSum[] sum;
    private ExactSum[] squareSum;
    /** Per-feature count, weight and squared weight of missing values; null until the first missing value. */
    private long[] missingCount;
    private ExactSum[] missingWeight;
    private ExactSum[] missingWeightSquare;

    @Override
    public PerValueExactSummary add(double[] values, double weight) {
        if (startRow(values.length, weight)) {
            for (int j = 0; j < values.length; j++) {
                addValue(j, values[j], weight);
            }
        }
        return this;
    }

    @Override
    public PerValueExactSummary addWithMissing(double[] values, double weight) {
        if (startRow(values.length, weight)) {
            for (int j = 0; j < values.length; j++) {
                if (Double.isFinite(values[j])) {
                    addValue(j, values[j], weight);
                } else {
                    markMissing(j, weight);
                }
            }
        }
        return this;
    }

    @Override
    public PerValueExactSummary addSparse(int size, int[] indices, double[] values, int stored, double weight) {
        if (startRow(size, weight)) {
            for (int k = 0; k < stored; k++) {
                addValue(indices[k], values[k], weight);
            }
        }
        return this;
    }

    @Override
    public PerValueExactSummary addSparseWithMissing(int size, int[] indices, double[] values, int stored,
            double weight) {
        if (startRow(size, weight)) {
            for (int k = 0; k < stored; k++) {
                if (Double.isFinite(values[k])) {
                    addValue(indices[k], values[k], weight);
                } else {
                    markMissing(indices[k], weight);
                }
            }
        }
        return this;
    }

    private boolean startRow(int size, double weight) {
        RowChecks.requireValidWeight(weight);
        if (RowChecks.adoptsDimension(dimension, size)) {
            dimension = size;
            sum = new ExactSum[size];
            squareSum = new ExactSum[size];
        }
        if (weight == 0.0) {
            return false;
        }
        count++;
        weightSum.add(weight);
        weightSquareSum.addSquare(weight);
        return true;
    }

    private void addValue(int j, double x, double weight) {
        if (x == 0.0) {
            return;
        }
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException("feature " + j + " has a non-finite value " + x);
        }
        if (sum[j] == null) {
            sum[j] = new ExactSum();
            squareSum[j] = new ExactSum();
        }
        if (weight == 1.0) {
            sum[j].add(x);
            squareSum[j].addSquare(x);
        } else {
            sum[j].addProduct(weight, x);
            squareSum[j].addWeightedSquare(weight, x);
        }
    }

    private void markMissing(int j, double weight) {
        if (missingCount == null) {
            missingCount = new long[dimension];
            missingWeight = new ExactSum[dimension];
            missingWeightSquare = new ExactSum[dimension];
        }
        missingCount[j]++;
        if (missingWeight[j] == null) {
            missingWeight[j] = new ExactSum();
            missingWeightSquare[j] = new ExactSum();
        }
        missingWeight[j].add(weight);
        missingWeightSquare[j].addSquare(weight);
    }

    @Override
    public PerValueExactSummary merge(FeatureAccumulator accumulator) {
        PerValueExactSummary other = (PerValueExactSummary) accumulator;
        if (other.dimension < 0) {
            return this;
        }
        if (dimension < 0) {
            dimension = other.dimension;
            sum = new ExactSum[dimension];
            squareSum = new ExactSum[dimension];
        } else if (dimension != other.dimension) {
            throw new DimensionMismatchException(dimension, other.dimension);
        }
        count += other.count;
        weightSum.merge(other.weightSum);
        weightSquareSum.merge(other.weightSquareSum);
        mergeSums(sum, other.sum);
        mergeSums(squareSum, other.squareSum);
        if (other.missingCount != null) {
            if (missingCount == null) {
                missingCount = new long[dimension];
                missingWeight = new ExactSum[dimension];
                missingWeightSquare = new ExactSum[dimension];
            }
            for (int j = 0; j < dimension; j++) {
                missingCount[j] += other.missingCount[j];
            }
            mergeSums(missingWeight, other.missingWeight);
            mergeSums(missingWeightSquare, other.missingWeightSquare);
        }
        return this;
    }

    private static void mergeSums(ExactSum[] into, ExactSum[] from) {
        for (int j = 0; j < from.length; j++) {
            if (from[j] != null) {
                if (into[j] == null) {
                    into[j] = new ExactSum();
                }
                into[j].merge(from[j]);
            }
        }
    }

    @Override
    public int dimension() {
        return dimension;
    }

    /** Always true: every value is checked as it is added. */
    @Override
    public boolean isFinite() {
        return true;
    }

    @Override
    public long count() {
        return count;
    }


    @Override
    public FeatureStatistics toStatistics() {
        return moments().toStatistics();
    }

    @Override
    public FeatureStatistics mergeInto(FeatureStatistics base) {
        return count == 0 ? base : base.merge(moments());
    }

    @Override
    public FeatureStatistics movingAverageInto(FeatureStatistics base, double momentum, VarianceMode mode) {
        return count == 0 ? base : base.movingAverage(moments(), momentum, mode);
    }

    /**
     * Per-feature moments derived from the exact sums, each rounded once; a feature with no value of positive weight has
     * weight, mean and variance 0.
     */
    FeatureStatistics.Moments moments() {
        if (count == 0) {
            throw new IllegalStateException("no rows with positive weight have been summarised");
        }
        long[] featureCount = new long[dimension];
        double[] featureWeight = new double[dimension];
        double[] featureWeightSquare = new double[dimension];
        double[] mean = new double[dimension];
        double[] variance = new double[dimension];
        ExactValue totalWeight = weightSum.value();
        ExactValue totalWeightSquare = weightSquareSum.value();
        for (int j = 0; j < dimension; j++) {
            ExactValue w = totalWeight;
            ExactValue w2 = totalWeightSquare;
            featureCount[j] = count;
            if (missingCount != null && missingWeight[j] != null) {
                featureCount[j] -= missingCount[j];
                w = w.subtract(missingWeight[j].value());
                w2 = w2.subtract(missingWeightSquare[j].value());
            }
            featureWeight[j] = w.toDouble();
            featureWeightSquare[j] = w2.toDouble();
            if (w.signum() <= 0 || sum[j] == null) {
                continue; // No value (reported by FeatureStatistics), or every value zero: mean and variance 0.
            }
            ExactValue s1 = sum[j].value();
            ExactValue s2 = squareSum[j].value();
            mean[j] = s1.divideToDouble(w);
            variance[j] = w.multiply(s2).subtract(s1.multiply(s1)).divideToDouble(w.multiply(w));
            if (Double.isInfinite(variance[j])) {
                throw new NonFiniteStatisticException(j, "variance", variance[j]);
            }
        }
        return new FeatureStatistics.Moments(count, featureCount, featureWeight, featureWeightSquare, mean, variance);
    }

    /** Words held by the exact sums: the summary's size, for the README's bytes-per-feature figure. */
    public long allocatedWords() {
        long words = weightSum.allocatedWords() + weightSquareSum.allocatedWords();
        if (sum != null) {
            words += Arrays.stream(sum).filter(s -> s != null).mapToLong(ExactSum::allocatedWords).sum();
            words += Arrays.stream(squareSum).filter(s -> s != null).mapToLong(ExactSum::allocatedWords).sum();
        }
        return words;
    }

    @Override
    public String toString() {
        return "PerValueExactSummary(dimension=" + dimension + ", count=" + count + ")";
    }
}
