package io.github.batchnorm.spark;

import io.github.batchnorm.stats.FeatureAccumulator;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.InvalidFeatureException;
import io.github.batchnorm.stats.NonFiniteStatisticException;
import io.github.batchnorm.stats.Summation;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.CatalystTypeConverters;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Function1;
import scala.Tuple2;

/**
 * The per-group fit: one pass that summarises every group's rows by key, the groups staying a distributed table that
 * is never collected to the driver (only its row count and the merged statistics of all groups reach it).
 *
 * <p>Two routes give the same statistics. Unweighted scalar columns with {@code summation = fast} go through Spark SQL's
 * own aggregates, {@code groupBy(groupCols).agg(count, avg, var_pop)}: code-generated, combined on the map side, and
 * numerically sound ({@code var_pop} is Welford's update with Chan's merge, not a raw sum of squares). Everything else
 * (weights, arrays, Vectors, exact sums) folds each row into the fit's own accumulators keyed by the group
 * ({@code combineByKey}, also combined on the map side and able to spill), so every input form, weight and
 * {@code handleInvalid} rule behaves exactly as in the global fit.
 */
public final class GroupedSummaryAggregation {
    /** How many of the data's first rows {@link #shifts} reads. */
    private static final int SHIFT_ROWS = 1000;

    private GroupedSummaryAggregation() {
    }

    /** What a per-group fit returns: the groups' table and the statistics of all training rows together. */
    public record Result(GroupedStatistics groups, FeatureStatistics global) {
    }

    /**
     * Fits per-group statistics; the table is cached, and counted once so that the work happens here.
     *
     * @throws IllegalArgumentException naming the column (and the group) for everything the global fit refuses: an empty
     *     dataset, invalid values under {@code handleInvalid = error}, invalid weights, rows of different sizes, and
     *     statistics that are not finite
     */
    public static Result fit(Dataset<?> dataset, FitSettings settings, StructType groupFields) {
        boolean sqlRoute = settings.input().kind() == FeatureInput.Kind.SCALARS && settings.input().weightCol() == null
                && settings.summation() == Summation.FAST;
        Dataset<Row> table = sqlRoute ? sqlTable(dataset, settings, groupFields)
                : accumulatorTable(dataset, settings, groupFields);
        // A local checkpoint, not a cache: the statistics are computed by this fit, never taken from a cached copy of an
        // earlier fit of the same query, and the table's lineage no longer reaches back to the data. Not eager: the job
        // that merges the groups is the one that stores them, rather than a job of its own before it.
        Moments merged;
        try {
            table = table.localCheckpoint(false);
            merged = mergeAll(table, settings.aggregationDepth());
        } catch (Exception e) {
            table.unpersist();
            throw TaskFailures.unwrapInvalidInput(e);
        }
        if (merged.groups == 0) {
            table.unpersist();
            return new Result(null, null);
        }
        try {
            // A NaN or infinity in any group's statistics carries through the merge, so only then are the groups read.
            if (!merged.isFinite()) {
                requireFinite(dataset, table, settings, groupFields, sqlRoute);
            }
            FeatureStatistics global = global(merged, settings);
            return new Result(new GroupedStatistics(table, groupFields, merged.groups, global.numFeatures()), global);
        } catch (RuntimeException e) {
            table.unpersist();
            throw e;
        }
    }

    private static Column[] groupColumns(StructType groupFields) {
        String[] names = groupFields.fieldNames();
        Column[] columns = new Column[names.length];
        for (int i = 0; i < names.length; i++) {
            columns[i] = ColumnNames.col(names[i]);
        }
        return columns;
    }

    private static Column isFinite(Column x) {
        return functions.abs(x).lt(functions.lit(Double.POSITIVE_INFINITY));
    }

    /** The Spark SQL route (see the class comment). */
    private static Dataset<Row> sqlTable(Dataset<?> dataset, FitSettings settings, StructType groupFields) {
        String[] inputs = settings.input().inputCols();
        Column[] values = new Column[inputs.length];
        Column allFinite = functions.lit(true);
        for (int j = 0; j < inputs.length; j++) {
            Column x = ColumnNames.col(inputs[j]).cast(DataTypes.DoubleType);
            allFinite = allFinite.and(isFinite(x));
            switch (settings.handleInvalid()) {
                case KEEP:
                    // The aggregates skip nulls: an invalid value is left out of its own feature only.
                    values[j] = functions.when(isFinite(x), x);
                    break;
                case ERROR:
                    // A null would be skipped silently; as NaN it makes the group's statistics non-finite, which the
                    // check after the pass turns into a second, naming pass.
                    values[j] = functions.coalesce(x, functions.lit(Double.NaN));
                    break;
                default:
                    values[j] = x;
            }
        }
        Dataset<?> rows = settings.handleInvalid() == HandleInvalid.SKIP ? dataset.filter(allFinite) : dataset;
        double[] shift = shifts(rows, values);
        // Only under keep may a feature have fewer values than its group has rows (under error an invalid value is a
        // NaN that counts, under skip its row is gone): elsewhere the group's row count serves, one aggregate less
        // per feature.
        boolean perFeatureCounts = settings.handleInvalid() == HandleInvalid.KEEP;
        List<Column> aggregates = new ArrayList<>();
        for (int j = 0; j < inputs.length; j++) {
            // avg is a plain sum divided by the count: summing x - shift, with the shift a value of the data, keeps data
            // such as 1e9 + N(0, 1) from losing its digits in the sum (var_pop needs no shift: it is Welford's update).
            if (perFeatureCounts) {
                aggregates.add(functions.count(values[j]).as("c" + j));
            }
            aggregates.add(functions.avg(values[j].minus(shift[j])).plus(shift[j]).as("m" + j));
            aggregates.add(functions.var_pop(values[j]).as("v" + j));
        }
        Dataset<Row> grouped = rows.groupBy(groupColumns(groupFields))
                .agg(functions.count(functions.lit(1)).as(GroupedStatistics.ROW_COUNT),
                        aggregates.toArray(new Column[0]));
        Column[] counts = new Column[inputs.length];
        Column[] weights = new Column[inputs.length];
        Column[] means = new Column[inputs.length];
        Column[] variances = new Column[inputs.length];
        for (int j = 0; j < inputs.length; j++) {
            counts[j] = functions.col(perFeatureCounts ? "c" + j : GroupedStatistics.ROW_COUNT);
            weights[j] = counts[j].cast(DataTypes.DoubleType);
            means[j] = functions.coalesce(functions.col("m" + j), functions.lit(0.0));
            variances[j] = functions.coalesce(functions.col("v" + j), functions.lit(0.0));
        }
        List<Column> columns = new ArrayList<>(Arrays.asList(groupColumns(groupFields)));
        columns.add(functions.col(GroupedStatistics.ROW_COUNT));
        columns.add(functions.array(counts).as(GroupedStatistics.COUNT));
        columns.add(functions.array(weights).as(GroupedStatistics.WEIGHT_SUM));
        columns.add(functions.array(weights).as(GroupedStatistics.WEIGHT_SQUARE_SUM));
        columns.add(functions.array(means).as(GroupedStatistics.MEAN));
        columns.add(functions.array(variances).as(GroupedStatistics.VARIANCE));
        return grouped.select(columns.toArray(new Column[0]));
    }

    /**
     * Per feature, a finite value among the first rows of the data (0 if there is none): close to the data's scale, so
     * that sums of {@code x - shift} cancel the part all values share. The rows are collected, not aggregated: a limit
     * that is collected reads the first partition only, in one small job, where an aggregate over a limit shuffles.
     */
    private static double[] shifts(Dataset<?> rows, Column[] values) {
        double[] shift = new double[values.length];
        boolean[] found = new boolean[values.length];
        int missing = values.length;
        for (Row row : rows.select(values).limit(SHIFT_ROWS).collectAsList()) {
            for (int j = 0; j < values.length && missing > 0; j++) {
                if (!found[j] && !row.isNullAt(j) && Double.isFinite(row.getDouble(j))) {
                    shift[j] = row.getDouble(j);
                    found[j] = true;
                    missing--;
                }
            }
        }
        return shift;
    }

    /**
     * After the SQL route: a non-finite mean or variance comes from an invalid value (under {@code error}) or from an
     * overflow. The first is named by the global fit's checking pass; the second is reported with its group.
     */
    private static void requireFinite(Dataset<?> dataset, Dataset<Row> table, FitSettings settings,
            StructType groupFields, boolean sqlRoute) {
        Column nonFinite = functions.exists(functions.col(GroupedStatistics.MEAN), m -> functions.not(isFinite(m)))
                .or(functions.exists(functions.col(GroupedStatistics.VARIANCE), v -> functions.not(isFinite(v))));
        List<Row> bad = table.filter(nonFinite).limit(1).collectAsList();
        if (bad.isEmpty()) {
            return;
        }
        if (sqlRoute && settings.handleInvalid() == HandleInvalid.ERROR) {
            SummaryAggregation.summarize(dataset, new FitSettings(settings.input(), HandleInvalid.ERROR,
                    Summation.EXACT, settings.aggregationDepth(), settings.requiredSize(), settings.requiredBy()));
        }
        throw new IllegalArgumentException("The statistics of group " + describeGroup(bad.get(0), groupFields) + " of "
                + settings.input().describe() + " are not finite (the values overflow double precision).");
    }

    /** A group as {@code (col=value, ...)}, for messages. */
    static String describeGroup(Row row, StructType groupFields) {
        String[] names = groupFields.fieldNames();
        StringBuilder text = new StringBuilder("(");
        for (int i = 0; i < names.length; i++) {
            text.append(i == 0 ? "" : ", ").append(names[i]).append('=').append(row.get(i));
        }
        return text.append(')').toString();
    }

    /** The accumulator route (see the class comment). */
    private static Dataset<Row> accumulatorTable(Dataset<?> dataset, FitSettings settings, StructType groupFields) {
        Column[] fitColumns = settings.input().fitColumns();
        Column[] columns = Arrays.copyOf(fitColumns, fitColumns.length + 1);
        columns[fitColumns.length] = functions.struct(groupColumns(groupFields));
        int keyOrdinal = fitColumns.length;
        int keyFields = groupFields.size();
        Function2<FeatureAccumulator, InternalRow, FeatureAccumulator> fold = SummaryAggregation.folder(settings, true);
        Function2<FeatureAccumulator, FeatureAccumulator, FeatureAccumulator> merge =
                SummaryAggregation.merger(settings.input());
        Summation summation = settings.summation();
        SparkSession spark = dataset.sparkSession();
        int partitions = Integer.parseInt(spark.conf().get("spark.sql.shuffle.partitions"));
        // The key is a copy of the group struct in Spark's binary row format: equal groups have equal bytes (null is a
        // set bit), and the query's reused row is folded at once by the map-side combine, never kept.
        JavaPairRDD<InternalRow, InternalRow> keyed = dataset.select(columns).queryExecution().toRdd().toJavaRDD()
                .mapToPair(row -> new Tuple2<>(row.getStruct(keyOrdinal, keyFields).copy(), row));
        JavaPairRDD<InternalRow, FeatureAccumulator> summaries = keyed.combineByKey(
                row -> fold.call(summation.newAccumulator(), row), fold, merge, partitions);
        StructType schema = GroupedStatistics.tableSchema(groupFields);
        // A group whose rows all have weight 0 or were all skipped has nothing to learn from: it is not a group.
        JavaRDD<Row> rows = summaries.filter(summary -> summary._2().count() > 0).mapPartitions(new GroupRows(groupFields, settings.input()));
        return spark.createDataFrame(rows, schema);
    }

    /** Turns keyed summaries into rows of the statistics table; runs on executors. */
    private static final class GroupRows
            implements org.apache.spark.api.java.function.FlatMapFunction<Iterator<Tuple2<InternalRow, FeatureAccumulator>>, Row> {
        private static final long serialVersionUID = 1L;
        private final StructType groupFields;
        private final FeatureInput input;

        GroupRows(StructType groupFields, FeatureInput input) {
            this.groupFields = groupFields;
            this.input = input;
        }

        @Override
        public Iterator<Row> call(Iterator<Tuple2<InternalRow, FeatureAccumulator>> summaries) {
            Function1<Object, Object> toRow = CatalystTypeConverters.createToScalaConverter(groupFields);
            int groupCount = groupFields.size();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return summaries.hasNext();
                }

                @Override
                public Row next() {
                    Tuple2<InternalRow, FeatureAccumulator> next = summaries.next();
                    Row group = (Row) toRow.apply(next._1());
                    FeatureAccumulator summary = next._2();
                    Object[] values = new Object[groupCount + 6];
                    for (int i = 0; i < groupCount; i++) {
                        values[i] = group.get(i);
                    }
                    values[groupCount] = summary.count();
                    FeatureStatistics statistics;
                    try {
                        statistics = summary.toStatistics();
                    } catch (NonFiniteStatisticException e) {
                        throw new IllegalArgumentException("Group " + describeGroup(group, groupFields) + ": "
                                + SummaryAggregation.nonFinite(input, e).getMessage(), e);
                    } catch (IllegalArgumentException e) {
                        // A feature with no valid value in this group (handleInvalid = keep): the group has no
                        // statistics of its own, and the transform uses those of all training rows.
                        int n = Math.max(summary.dimension(), 0);
                        values[groupCount + 1] = new long[n];
                        values[groupCount + 2] = new double[n];
                        values[groupCount + 3] = new double[n];
                        values[groupCount + 4] = new double[n];
                        values[groupCount + 5] = new double[n];
                        return RowFactory.create(values);
                    }
                    values[groupCount + 1] = statistics.count();
                    values[groupCount + 2] = statistics.weightSum();
                    values[groupCount + 3] = statistics.weightSquareSum();
                    values[groupCount + 4] = statistics.mean();
                    values[groupCount + 5] = statistics.variance(io.github.batchnorm.stats.VarianceMode.POPULATION);
                    return RowFactory.create(values);
                }
            };
        }
    }

    /**
     * The statistics of all training rows: the groups' moments merged by Chan's formula, in a tree. Read in Spark's
     * binary rows, not as {@code Row}s, which would box every value of every group's arrays into a list first.
     */
    private static Moments mergeAll(Dataset<Row> table, int depth) {
        return table.select(GroupedStatistics.ROW_COUNT, GroupedStatistics.COUNT, GroupedStatistics.WEIGHT_SUM,
                        GroupedStatistics.WEIGHT_SQUARE_SUM, GroupedStatistics.MEAN, GroupedStatistics.VARIANCE)
                .queryExecution().toRdd().toJavaRDD()
                .treeAggregate(new Moments(), Moments::addBinary, Moments::merge, depth);
    }

    private static FeatureStatistics global(Moments merged, FitSettings settings) {
        if (merged.rowCount == 0) {
            throw new IllegalArgumentException("Cannot fit on an empty dataset: " + settings.input().describe()
                    + " has no rows.");
        }
        try {
            return merged.toStatistics();
        } catch (NonFiniteStatisticException e) {
            throw SummaryAggregation.nonFinite(settings.input(), e);
        } catch (InvalidFeatureException e) {
            throw new IllegalArgumentException(SummaryAggregation.featureName(settings.input(), e.feature()) + " "
                    + e.problem() + ". Every feature needs at least one valid value.", e);
        }
    }

    /**
     * The groups of {@code base} and {@code batch} together, persisted and counted: a group in both is merged exactly
     * (Chan's formula: the statistics of both groups' rows), or with {@code momentum} moved towards the batch, per
     * feature {@code running = momentum * running + (1 - momentum) * batch} for the mean and for the variance in
     * {@code mode}, counts and weights adding up; a group in one only is kept as it is. The groups are matched by key
     * on the executors, never collected.
     *
     * @param momentum null for the exact merge
     */
    public static GroupedStatistics merge(GroupedStatistics base, GroupedStatistics batch, Double momentum,
            io.github.batchnorm.stats.VarianceMode mode) {
        StructType groupFields = base.groupFields();
        int keys = groupFields.size();
        JavaPairRDD<Row, Tuple2<Moments, Moments>> old = keyed(base.table(), groupFields)
                .mapValues(m -> new Tuple2<Moments, Moments>(m, null));
        JavaPairRDD<Row, Tuple2<Moments, Moments>> fresh = keyed(batch.table(), groupFields)
                .mapValues(m -> new Tuple2<Moments, Moments>(null, m));
        JavaRDD<Row> rows = old.union(fresh)
                .reduceByKey((a, b) -> new Tuple2<>(a._1() != null ? a._1() : b._1(), a._2() != null ? a._2() : b._2()))
                .map(pair -> {
                    Moments before = pair._2()._1();
                    Moments after = pair._2()._2();
                    Moments merged = before == null ? after : after == null ? before
                            : momentum == null ? before.merge(after) : before.moveTowards(after, momentum, mode);
                    return merged.toRow(pair._1(), keys);
                });
        SparkSession spark = base.table().sparkSession();
        Dataset<Row> table = spark.createDataFrame(rows, GroupedStatistics.tableSchema(groupFields));
        long groupCount;
        try {
            // Checkpointed, so that a chain of updates (a stream's micro-batches) does not grow a chain of lineage back
            // to every earlier table, and a saved model's files may be replaced while the new table lives.
            table = table.localCheckpoint(true);
            groupCount = table.count();
        } catch (Exception e) {
            throw TaskFailures.unwrapInvalidInput(e);
        }
        return new GroupedStatistics(table, groupFields, groupCount, base.numFeatures());
    }

    private static JavaPairRDD<Row, Moments> keyed(Dataset<Row> table, StructType groupFields) {
        List<Column> columns = new ArrayList<>(Arrays.asList(groupColumns(groupFields)));
        for (String name : List.of(GroupedStatistics.ROW_COUNT, GroupedStatistics.COUNT, GroupedStatistics.WEIGHT_SUM,
                GroupedStatistics.WEIGHT_SQUARE_SUM, GroupedStatistics.MEAN, GroupedStatistics.VARIANCE)) {
            columns.add(functions.col(name));
        }
        int keys = groupFields.size();
        return table.select(columns.toArray(new Column[0])).javaRDD().mapToPair(row -> {
            Object[] key = new Object[keys];
            Object[] statistics = new Object[6];
            for (int i = 0; i < keys; i++) {
                key[i] = row.get(i);
            }
            for (int i = 0; i < 6; i++) {
                statistics[i] = row.get(keys + i);
            }
            return new Tuple2<>(RowFactory.create(key), new Moments().add(RowFactory.create(statistics)));
        });
    }

    /**
     * Weighted moments of several groups merged, per feature: count, weight, squared weight, mean and the weighted sum of
     * squared deviations. A feature of weight 0 on one side takes the other side as it is.
     */
    static final class Moments implements Serializable {
        private static final long serialVersionUID = 1L;
        long groups;
        long rowCount;
        long[] count;
        double[] weight;
        double[] weightSquare;
        double[] mean;
        double[] squaredDeviations;

        /** Adds one row of the statistics table (rowCount, count, weightSum, weightSquareSum, mean, variance). */
        Moments add(Row row) {
            List<Long> counts = row.getList(1);
            List<Double> weights = row.getList(2);
            List<Double> weightSquares = row.getList(3);
            List<Double> means = row.getList(4);
            List<Double> variances = row.getList(5);
            int n = counts.size();
            long[] count = new long[n];
            double[] weight = new double[n];
            double[] weightSquare = new double[n];
            double[] mean = new double[n];
            double[] variance = new double[n];
            for (int j = 0; j < n; j++) {
                count[j] = counts.get(j);
                weight[j] = weights.get(j);
                weightSquare[j] = weightSquares.get(j);
                mean[j] = means.get(j);
                variance[j] = variances.get(j);
            }
            return addGroup(row.getLong(0), count, weight, weightSquare, mean, variance);
        }

        /** {@link #add(Row)} for the same row in Spark's binary format. */
        Moments addBinary(InternalRow row) {
            return addGroup(row.getLong(0), row.getArray(1).toLongArray(), row.getArray(2).toDoubleArray(),
                    row.getArray(3).toDoubleArray(), row.getArray(4).toDoubleArray(), row.getArray(5).toDoubleArray());
        }

        /** Merges in one group, turning {@code variance} into squared deviations in place. */
        private Moments addGroup(long rows, long[] count, double[] weight, double[] weightSquare, double[] mean,
                double[] variance) {
            Moments other = new Moments();
            other.groups = 1;
            other.rowCount = rows;
            other.count = count;
            other.weight = weight;
            other.weightSquare = weightSquare;
            other.mean = mean;
            for (int j = 0; j < variance.length; j++) {
                variance[j] *= weight[j];
            }
            other.squaredDeviations = variance;
            return merge(other);
        }

        Moments merge(Moments other) {
            if (other.count == null) {
                return this;
            }
            if (count == null) {
                groups = other.groups;
                rowCount = other.rowCount;
                count = other.count.clone();
                weight = other.weight.clone();
                weightSquare = other.weightSquare.clone();
                mean = other.mean.clone();
                squaredDeviations = other.squaredDeviations.clone();
                return this;
            }
            if (other.count.length != count.length) {
                throw new IllegalArgumentException("groups have " + count.length + " and " + other.count.length
                        + " features");
            }
            groups += other.groups;
            rowCount += other.rowCount;
            for (int j = 0; j < count.length; j++) {
                double w = weight[j];
                double v = other.weight[j];
                if (v > 0.0) {
                    if (w > 0.0) {
                        double total = w + v;
                        double delta = other.mean[j] - mean[j];
                        mean[j] += delta * (v / total);
                        squaredDeviations[j] += other.squaredDeviations[j] + delta * delta * (w * v / total);
                        weight[j] = total;
                    } else {
                        mean[j] = other.mean[j];
                        squaredDeviations[j] = other.squaredDeviations[j];
                        weight[j] = v;
                    }
                    count[j] += other.count[j];
                    weightSquare[j] += other.weightSquare[j];
                }
            }
            return this;
        }

        /**
         * This (a group's running statistics) moved towards {@code batch} by a moving average of the mean and of the
         * variance in {@code mode}; a feature with no value in the batch keeps its values. Stored back as a population
         * variance with the summed weights, from which {@code mode}'s variance is the averaged one again.
         */
        Moments moveTowards(Moments batch, double momentum, io.github.batchnorm.stats.VarianceMode mode) {
            boolean sample = mode == io.github.batchnorm.stats.VarianceMode.SAMPLE;
            rowCount += batch.rowCount;
            for (int j = 0; j < count.length; j++) {
                if (!(batch.weight[j] > 0.0)) {
                    continue;
                }
                if (!(weight[j] > 0.0)) {
                    count[j] = batch.count[j];
                    weight[j] = batch.weight[j];
                    weightSquare[j] = batch.weightSquare[j];
                    mean[j] = batch.mean[j];
                    squaredDeviations[j] = batch.squaredDeviations[j];
                    continue;
                }
                double oldVariance = variance(j, sample);
                double batchVariance = batch.variance(j, sample);
                mean[j] = momentum * mean[j] + (1.0 - momentum) * batch.mean[j];
                double moved = momentum * oldVariance + (1.0 - momentum) * batchVariance;
                count[j] += batch.count[j];
                weight[j] += batch.weight[j];
                weightSquare[j] += batch.weightSquare[j];
                double denominator = sample ? sampleDenominator(weight[j], weightSquare[j]) : weight[j];
                squaredDeviations[j] = denominator > 0.0 ? moved * denominator : 0.0;
            }
            return this;
        }

        private double variance(int j, boolean sample) {
            double denominator = sample ? sampleDenominator(weight[j], weightSquare[j]) : weight[j];
            return denominator > 0.0 ? squaredDeviations[j] / denominator : 0.0;
        }

        private static double sampleDenominator(double w, double w2) {
            return w2 == w ? w - 1.0 : w - w2 / w;
        }

        /** A row of the statistics table: the group's values, then the statistics. */
        Row toRow(Row key, int keys) {
            Object[] values = new Object[keys + 6];
            for (int i = 0; i < keys; i++) {
                values[i] = key.get(i);
            }
            double[] variance = new double[count.length];
            for (int j = 0; j < count.length; j++) {
                variance[j] = weight[j] > 0.0 ? Math.max(squaredDeviations[j] / weight[j], 0.0) : 0.0;
            }
            values[keys] = rowCount;
            values[keys + 1] = count;
            values[keys + 2] = weight;
            values[keys + 3] = weightSquare;
            values[keys + 4] = mean;
            values[keys + 5] = variance;
            return RowFactory.create(values);
        }

        boolean isFinite() {
            for (int j = 0; j < count.length; j++) {
                if (!Double.isFinite(mean[j]) || !Double.isFinite(squaredDeviations[j])) {
                    return false;
                }
            }
            return true;
        }

        FeatureStatistics toStatistics() {
            double[] variance = new double[count.length];
            for (int j = 0; j < count.length; j++) {
                variance[j] = weight[j] > 0.0 ? Math.max(squaredDeviations[j] / weight[j], 0.0) : 0.0;
            }
            return new FeatureStatistics(rowCount, count, weight, weightSquare, mean, variance);
        }
    }
}
