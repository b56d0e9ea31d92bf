package io.github.batchnorm.spark;

import io.github.batchnorm.stats.DimensionMismatchException;
import io.github.batchnorm.stats.FeatureAccumulator;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.InvalidFeatureException;
import io.github.batchnorm.stats.NonFiniteStatisticException;
import io.github.batchnorm.stats.Summation;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.SpecializedGetters;
import org.apache.spark.sql.catalyst.util.ArrayData;

/**
 * The fit's single pass: every partition folds its rows into a {@link FeatureAccumulator}, and Spark's
 * {@code treeAggregate} merges the partition summaries level by level, so the driver receives a handful of O(features)
 * summaries, never rows. The estimator's {@code fit} and the model's {@code update} both read their data here.
 *
 * <p>Rows are read in Spark's internal format (the query's {@code InternalRow}s), which avoids converting each row to an
 * external {@code Row} and deserialising each Vector; values are copied into one reusable buffer per task.
 *
 * <p>Under {@code handleInvalid = error} with fast sums, values are not checked one by one: checking costs about a tenth
 * of a dense fit (see the design notes), and a NaN or infinity always leaves the summary non-finite, so a second,
 * checking pass runs only then, to name the value. Every other setting checks each value as it is read (skip and keep
 * must act on it; exact sums cannot hold it).
 */
public final class SummaryAggregation {
    private SummaryAggregation() {
    }

    /**
     * The merged summary of every row of {@code dataset}, which may be empty (no row with positive weight) and may have
     * features with no valid value.
     *
     * @throws IllegalArgumentException naming the column for: rows of different sizes, a row of another size than the one
     *     required, an invalid value under {@link HandleInvalid#ERROR}, or an invalid weight
     */
    public static FeatureAccumulator summarize(Dataset<?> dataset, FitSettings settings) {
        boolean checkEveryValue = settings.handleInvalid() != HandleInvalid.ERROR
                || settings.summation() == Summation.EXACT;
        FeatureAccumulator summary = aggregate(dataset, settings, checkEveryValue);
        if (!checkEveryValue && !summary.isFinite()) {
            // Fails naming the first invalid value it meets; finds none when the sums overflowed, which the
            // statistics then report.
            aggregate(dataset, settings, true);
        }
        return summary;
    }

    /** The function that folds one row of {@link FeatureInput#fitColumns()} into a summary, for the input's form. */
    static Function2<FeatureAccumulator, InternalRow, FeatureAccumulator> folder(FitSettings settings,
            boolean checkFinite) {
        switch (settings.input().kind()) {
            case VECTOR:
                return new VectorFolder(settings, checkFinite);
            case ARRAY:
                return new ArrayFolder(settings, checkFinite);
            default:
                return new ScalarFolder(settings, checkFinite);
        }
    }

    /** The function that merges two summaries of {@code input}'s rows. */
    static Function2<FeatureAccumulator, FeatureAccumulator, FeatureAccumulator> merger(FeatureInput input) {
        return new MergeSummaries(input);
    }

    private static FeatureAccumulator aggregate(Dataset<?> dataset, FitSettings settings, boolean checkFinite) {
        try {
            return dataset.select(settings.input().fitColumns()).queryExecution().toRdd().toJavaRDD()
                    .treeAggregate(settings.summation().newAccumulator(), folder(settings, checkFinite),
                            merger(settings.input()), settings.aggregationDepth());
        } catch (Exception e) {
            throw TaskFailures.unwrapInvalidInput(e);
        }
    }

    /**
     * The statistics of a fit's summary.
     *
     * @throws IllegalArgumentException naming the column for an empty dataset, a feature with no valid value, or statistics
     *     that are not finite
     */
    public static FeatureStatistics statistics(FeatureAccumulator summary, FitSettings settings) {
        FeatureInput input = settings.input();
        if (summary.count() == 0) {
            throw new IllegalArgumentException("Cannot fit on an empty dataset: " + input.describe() + " has no rows"
                    + (settings.handleInvalid() == HandleInvalid.SKIP ? " left after skipping rows with invalid values" : "")
                    + (input.weightCol() != null ? " with positive weight" : "") + ".");
        }
        try {
            return summary.toStatistics();
        } catch (NonFiniteStatisticException e) {
            throw nonFinite(input, e);
        } catch (InvalidFeatureException e) {
            throw new IllegalArgumentException(featureName(input, e.feature()) + " " + e.problem()
                    + ". Every feature needs at least one valid value.", e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(input.describe() + ": " + e.getMessage()
                    + ". Every feature needs at least one valid value.", e);
        }
    }

    /** A non-finite mean or variance, reported with the column it belongs to. */
    public static IllegalArgumentException nonFinite(FeatureInput input, NonFiniteStatisticException e) {
        String prefix = "feature " + e.feature() + " ";
        String problem = e.getMessage().startsWith(prefix) ? e.getMessage().substring(prefix.length()) : e.getMessage();
        return new IllegalArgumentException(featureName(input, e.feature()) + " " + problem + ".", e);
    }

    /** A feature as the user names it: its scalar column, or its Vector or array column and index. */
    public static String featureName(FeatureInput input, int feature) {
        return input.kind() == FeatureInput.Kind.SCALARS
                ? "Feature '" + input.inputCols()[feature] + "'"
                : "Feature '" + input.inputCol() + "[" + feature + "]'";
    }

    /** Folds one internal row into a partition's summary; runs on executors, one instance per task. */
    private abstract static class RowFolder implements Function2<FeatureAccumulator, InternalRow, FeatureAccumulator> {
        private static final long serialVersionUID = 1L;
        final FitSettings settings;
        final FeatureInput input;
        final HandleInvalid handleInvalid;
        final String column;
        private final int weightOrdinal;
        /** Whether values are checked for NaN and infinity one by one (see the class comment). */
        private final boolean checkFinite;
        transient double[] values;

        RowFolder(FitSettings settings, int featureColumns, boolean checkFinite) {
            this.settings = settings;
            this.checkFinite = checkFinite;
            this.input = settings.input();
            this.handleInvalid = settings.handleInvalid();
            this.column = input.inputCol();
            this.weightOrdinal = input.weightCol() == null ? -1 : featureColumns;
        }

        @Override
        public final FeatureAccumulator call(FeatureAccumulator summary, InternalRow row) {
            double weight = 1.0;
            if (weightOrdinal >= 0) {
                if (row.isNullAt(weightOrdinal)) {
                    throw new IllegalArgumentException(InvalidValues.weight(input.weightCol(), "null"));
                }
                weight = row.getDouble(weightOrdinal);
                if (!(weight >= 0.0) || Double.isInfinite(weight)) {
                    throw new IllegalArgumentException(InvalidValues.weight(input.weightCol(), Double.toString(weight)));
                }
            }
            try {
                fold(summary, row, weight);
            } catch (DimensionMismatchException e) {
                throw new IllegalArgumentException(InvalidValues.sizes(column,
                        input.kind() == FeatureInput.Kind.ARRAY ? "array" : "vector", e.expected(), e.actual()), e);
            }
            return summary;
        }

        abstract void fold(FeatureAccumulator summary, InternalRow row, double weight);

        /** Checks the first row's size against the one required, so a wrong size fails at once with a clear message. */
        final void checkSize(FeatureAccumulator summary, int size) {
            if (summary.dimension() < 0 && settings.requiredSize() != FeatureInput.UNKNOWN_SIZE
                    && size != settings.requiredSize()) {
                throw new IllegalArgumentException(settings.sizeMismatch(size));
            }
        }

        /** The task's buffer for a dense row of {@code size} features; rows of one column all have the same size. */
        final double[] denseBuffer(int size) {
            if (values == null || values.length != size) {
                values = new double[size];
            }
            return values;
        }

        /**
         * Copies {@code size} doubles from an internal array into {@code into}; returns false if any is invalid (null, NaN,
         * infinite), after failing with a message if invalid values are errors.
         *
         * @param featureIndex the feature index of each position (a sparse vector's indices), or null if position is index
         */
        final boolean copyValid(ArrayData array, int size, double[] into, int[] featureIndex) {
            if (InternalArrays.copyNonNullDoubles(array, size, into)
                    && (!checkFinite || InternalArrays.allFinite(into, size))) {
                return true;
            }
            return readValid(array, size, into, featureIndex);
        }

        /**
         * Reads {@code size} doubles one by one from a row or an array (null becomes NaN in {@code into}), reporting each
         * invalid one; returns whether all were valid.
         */
        final boolean readValid(SpecializedGetters source, int size, double[] into, int[] featureIndex) {
            boolean valid = true;
            for (int i = 0; i < size; i++) {
                if (source.isNullAt(i)) {
                    invalid(featureIndex == null ? i : featureIndex[i], "null");
                    into[i] = Double.NaN;
                    valid = false;
                } else {
                    double x = source.getDouble(i);
                    into[i] = x;
                    if (checkFinite && !Double.isFinite(x)) {
                        invalid(featureIndex == null ? i : featureIndex[i], Double.toString(x));
                        valid = false;
                    }
                }
            }
            return valid;
        }

        /** Reports an invalid value at a feature index; fails when invalid values are errors. */
        void invalid(int index, String value) {
            if (handleInvalid == HandleInvalid.ERROR) {
                throw new IllegalArgumentException(InvalidValues.element(column, index, value));
            }
        }

        /** A null vector or array: an error, or a row with no values at all (left out of the statistics). */
        final void nullRow(String what) {
            if (handleInvalid == HandleInvalid.ERROR) {
                throw new IllegalArgumentException(InvalidValues.nullRow(column, what));
            }
        }

        /** Adds a dense row according to the policy: all of it, its valid values only (keep), or nothing (skip). */
        final void addDense(FeatureAccumulator summary, double[] row, boolean valid, double weight) {
            checkSize(summary, row.length);
            if (valid) {
                summary.add(row, weight);
            } else if (handleInvalid == HandleInvalid.KEEP) {
                summary.addWithMissing(row, weight);
            }
        }
    }

    /** Numeric scalar columns, already cast to double by the query: feature j is column j. */
    private static final class ScalarFolder extends RowFolder {
        private static final long serialVersionUID = 1L;
        private final String[] columns;

        ScalarFolder(FitSettings settings, boolean checkFinite) {
            super(settings, settings.input().inputCols().length, checkFinite);
            this.columns = settings.input().inputCols();
        }

        @Override
        void fold(FeatureAccumulator summary, InternalRow row, double weight) {
            double[] into = denseBuffer(columns.length);
            addDense(summary, into, readValid(row, columns.length, into, null), weight);
        }

        @Override
        void invalid(int index, String value) {
            if (handleInvalid == HandleInvalid.ERROR) {
                throw new IllegalArgumentException(InvalidValues.scalar(columns[index], value));
            }
        }
    }

    /** One {@code array<double>} column (float arrays are widened by the query, exactly). */
    private static final class ArrayFolder extends RowFolder {
        private static final long serialVersionUID = 1L;

        ArrayFolder(FitSettings settings, boolean checkFinite) {
            super(settings, 1, checkFinite);
        }

        @Override
        void fold(FeatureAccumulator summary, InternalRow row, double weight) {
            if (row.isNullAt(0)) {
                nullRow("array");
                return;
            }
            ArrayData array = row.getArray(0);
            int size = array.numElements();
            double[] into = denseBuffer(size);
            addDense(summary, into, copyValid(array, size, into, null), weight);
        }
    }

    /** One Vector column, read in place by a {@link VectorReader}: no Vector object is built per row. */
    private static final class VectorFolder extends RowFolder {
        private static final long serialVersionUID = 1L;
        private transient VectorReader reader;
        private transient int[] sparseIndices;
        private transient double[] sparseValues;

        VectorFolder(FitSettings settings, boolean checkFinite) {
            super(settings, 1, checkFinite);
        }

        @Override
        void fold(FeatureAccumulator summary, InternalRow row, double weight) {
            if (reader == null) {
                reader = new VectorReader();
            }
            if (!reader.read(row, 0)) {
                nullRow("vector");
                return;
            }
            ArrayData stored = reader.values();
            int storedCount = stored.numElements();
            if (reader.isDense()) {
                double[] into = denseBuffer(storedCount);
                addDense(summary, into, copyValid(stored, storedCount, into, null), weight);
                return;
            }
            int size = reader.size();
            checkSize(summary, size);
            if (sparseIndices == null || sparseIndices.length < storedCount) {
                int capacity = Math.max(storedCount, 16);
                sparseIndices = new int[capacity];
                sparseValues = new double[capacity];
            }
            ArrayData storedIndices = reader.indices();
            for (int k = 0; k < storedCount; k++) {
                sparseIndices[k] = storedIndices.getInt(k);
            }
            boolean valid = copyValid(stored, storedCount, sparseValues, sparseIndices);
            if (valid) {
                summary.addSparse(size, sparseIndices, sparseValues, storedCount, weight);
            } else if (handleInvalid == HandleInvalid.KEEP) {
                summary.addSparseWithMissing(size, sparseIndices, sparseValues, storedCount, weight);
            }
        }
    }

    /** Merges two summaries in the aggregation tree. */
    private static final class MergeSummaries implements Function2<FeatureAccumulator, FeatureAccumulator, FeatureAccumulator> {
        private static final long serialVersionUID = 1L;
        private final FeatureInput input;

        MergeSummaries(FeatureInput input) {
            this.input = input;
        }

        @Override
        public FeatureAccumulator call(FeatureAccumulator left, FeatureAccumulator right) {
            try {
                return left.merge(right);
            } catch (DimensionMismatchException e) {
                throw new IllegalArgumentException(InvalidValues.sizes(input.inputCol(),
                        input.kind() == FeatureInput.Kind.ARRAY ? "array" : "vector", e.expected(), e.actual()), e);
            }
        }
    }
}
