package io.github.batchnorm.spark;

import io.github.batchnorm.stats.DimensionMismatchException;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.FeatureSummary;
import io.github.batchnorm.stats.NonFiniteStatisticException;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * The fit's single pass: every partition folds its rows into a {@link FeatureSummary}, and Spark's {@code treeAggregate}
 * merges the partition summaries level by level, so the driver receives a handful of O(features) summaries, never rows.
 */
public final class SummaryAggregation {
    private SummaryAggregation() {
    }

    /**
     * Summarises a Vector column.
     *
     * @param expectedSize the number of features the caller requires (from gamma or beta), or
     *     {@link SchemaValidation#UNKNOWN_SIZE}; checked on the first row so a mismatch fails fast
     * @param expectedSizeSource the param that {@code expectedSize} came from, for the error message
     * @throws IllegalArgumentException if the dataset is empty, holds a null vector, vectors of different sizes, vectors of
     *     the wrong size, or values whose statistics are not finite; the message names the column
     */
    public static FeatureStatistics fitVectorColumn(Dataset<?> dataset, String inputCol, int depth, int expectedSize,
            String expectedSizeSource) {
        FeatureSummary summary;
        try {
            summary = dataset.select(functions.col(inputCol)).javaRDD().treeAggregate(new FeatureSummary(),
                    new AddVector(inputCol, expectedSize, expectedSizeSource), new MergeSummaries(inputCol), depth);
        } catch (Exception e) {
            throw TaskFailures.unwrapInvalidInput(e);
        }
        if (summary.weightSum() == 0.0) {
            throw new IllegalArgumentException("Cannot fit on an empty dataset: input column '" + inputCol
                    + "' has no rows.");
        }
        try {
            return summary.toStatistics();
        } catch (NonFiniteStatisticException e) {
            throw new IllegalArgumentException("Input column '" + inputCol + "': " + e.getMessage() + ".", e);
        }
    }

    /** Folds one row into a partition's summary; runs on executors. */
    private static final class AddVector implements Function2<FeatureSummary, Row, FeatureSummary> {
        private static final long serialVersionUID = 1L;
        private final String inputCol;
        private final int expectedSize;
        private final String expectedSizeSource;

        AddVector(String inputCol, int expectedSize, String expectedSizeSource) {
            this.inputCol = inputCol;
            this.expectedSize = expectedSize;
            this.expectedSizeSource = expectedSizeSource;
        }

        @Override
        public FeatureSummary call(FeatureSummary summary, Row row) {
            Vector vector = (Vector) row.get(0);
            if (vector == null) {
                throw new IllegalArgumentException("Input column '" + inputCol + "' contains a null vector.");
            }
            if (summary.dimension() < 0 && expectedSize != SchemaValidation.UNKNOWN_SIZE && vector.size() != expectedSize) {
                throw new IllegalArgumentException(SchemaValidation.paramLengthMessage(expectedSizeSource, expectedSize,
                        vector.size(), inputCol));
            }
            try {
                if (vector instanceof DenseVector) {
                    return summary.add(((DenseVector) vector).values());
                }
                SparseVector sparse = (SparseVector) vector;
                return summary.addSparse(sparse.size(), sparse.indices(), sparse.values());
            } catch (DimensionMismatchException e) {
                throw new IllegalArgumentException(vectorSizeMessage(inputCol, e), e);
            }
        }
    }

    /** Merges two summaries in the aggregation tree. */
    private static final class MergeSummaries implements Function2<FeatureSummary, FeatureSummary, FeatureSummary> {
        private static final long serialVersionUID = 1L;
        private final String inputCol;

        MergeSummaries(String inputCol) {
            this.inputCol = inputCol;
        }

        @Override
        public FeatureSummary call(FeatureSummary left, FeatureSummary right) {
            try {
                return left.merge(right);
            } catch (DimensionMismatchException e) {
                throw new IllegalArgumentException(vectorSizeMessage(inputCol, e), e);
            }
        }
    }

    private static String vectorSizeMessage(String inputCol, DimensionMismatchException e) {
        return "Input column '" + inputCol + "' holds vectors of different sizes: " + e.expected() + " and " + e.actual()
                + ". Every row must have the same number of features.";
    }
}
