package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.spark.GroupedNormalizer;
import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.Expect;
import io.github.batchnorm.testing.SparkTestSession;
import io.github.batchnorm.testing.Tolerance;
import java.sql.Date;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * Per-group normalisation against independent references: Spark's window functions over the same data (the query users
 * write today) and a BigDecimal reference per group, on seeded skewed groups that include null group values.
 */
class GroupedNormalizationTest {
    private static final String[] FEATURES = {"x0", "x1", "x2"};
    private static final double EPSILON = 1e-5;
    private static final SparkSession SPARK = SparkTestSession.get();

    /** One generated row: its id, group values, features and weight. */
    private record Sample(long id, String store, Integer day, Date date, boolean flag, double[] x, double weight) {
        List<Object> key() {
            return java.util.Arrays.asList(store, day, date, flag);
        }
    }

    /**
     * Skewed groups (store "s0" has about half the rows), with null stores and null days; features on very different
     * scales, offset per group so that per-group statistics differ from the global ones.
     */
    private static List<Sample> samples(long seed, int rows, boolean invalid) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            int storeIndex = random.nextDouble() < 0.5 ? 0 : random.nextInt(6);
            String store = storeIndex == 5 ? null : "s" + storeIndex;
            Integer day = random.nextInt(10) == 0 ? null : random.nextInt(3);
            Date date = Date.valueOf("2026-01-0" + (1 + random.nextInt(2)));
            boolean flag = random.nextBoolean();
            double offset = storeIndex * 1000.0 + (day == null ? -7 : day) * 10.0;
            double[] x = {
                1e6 + offset + random.nextGaussian(),
                offset * 0.01 + 5 * random.nextGaussian(),
                (random.nextDouble() - 0.5) * 1e-3 * (1 + storeIndex)
            };
            if (invalid && random.nextInt(25) == 0) {
                x[1] = random.nextBoolean() ? Double.NaN : Double.POSITIVE_INFINITY;
            }
            samples.add(new Sample(i, store, day, date, flag, x, 0.25 + random.nextDouble() * 2));
        }
        return samples;
    }

    private static Dataset<Row> frame(List<Sample> samples) {
        List<Row> rows = new ArrayList<>();
        for (Sample s : samples) {
            rows.add(RowFactory.create(s.id(), s.store(), s.day(), s.date(), s.flag(), s.x()[0], s.x()[1], s.x()[2],
                    s.weight(), Vectors.dense(s.x()), s.x().clone()));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("store", DataTypes.StringType)
                .add("day", DataTypes.IntegerType).add("date", DataTypes.DateType).add("flag", DataTypes.BooleanType)
                .add("x0", DataTypes.DoubleType).add("x1", DataTypes.DoubleType).add("x2", DataTypes.DoubleType)
                .add("w", DataTypes.DoubleType).add("vec", SQLDataTypes.VectorType())
                .add("arr", DataTypes.createArrayType(DataTypes.DoubleType));
        return SPARK.createDataFrame(rows, schema).repartition(3);
    }

    private static Map<List<Object>, List<Sample>> byGroup(List<Sample> samples, int keyFields) {
        Map<List<Object>, List<Sample>> groups = new HashMap<>();
        for (Sample s : samples) {
            groups.computeIfAbsent(new ArrayList<>(s.key().subList(0, keyFields)), k -> new ArrayList<>()).add(s);
        }
        return groups;
    }

    private static ExactReference reference(List<Sample> group, boolean weighted) {
        double[][] rows = new double[group.size()][];
        double[] weights = new double[group.size()];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = group.get(i).x();
            weights[i] = weighted ? group.get(i).weight() : 1.0;
        }
        return ExactReference.withMissing(rows, weights);
    }

    @Test
    void matchesWindowFunctionsAndTheExactReferenceOnSkewedGroupsWithNulls() {
        List<Sample> samples = samples(11, 4000, false);
        Dataset<Row> data = frame(samples);
        BatchNormalizationModel model = new BatchNormalization().setInputCols(FEATURES)
                .setOutputCols("y0", "y1", "y2").setGroupCols("store", "day").fit(data);
        Map<List<Object>, List<Sample>> groups = byGroup(samples, 2);
        assertEquals(groups.size(), model.groupCount());
        assertTrue(model.toString().contains("groups=" + groups.size()), model.toString());

        for (Row row : model.groupStatistics().collectAsList()) {
            List<Object> key = java.util.Arrays.asList(row.get(0), row.get(1));
            List<Sample> group = groups.get(key);
            ExactReference reference = reference(group, false);
            assertEquals(group.size(), row.getLong(2), "count of " + key);
            for (int j = 0; j < FEATURES.length; j++) {
                Tolerance.assertClose(reference.mean(j), row.<Double>getList(3).get(j), 1e-12, 1e-15, "mean " + key);
                Tolerance.assertClose(reference.populationVariance(j), row.<Double>getList(4).get(j), 1e-9, 1e-18,
                        "variance " + key);
            }
        }

        Map<List<Object>, ExactReference> references = new HashMap<>();
        WindowSpec window = Window.partitionBy("store", "day");
        Column[] expected = new Column[FEATURES.length + 1];
        expected[0] = functions.col("id");
        for (int j = 0; j < FEATURES.length; j++) {
            Column x = functions.col(FEATURES[j]);
            expected[j + 1] = x.minus(functions.avg(x).over(window))
                    .divide(functions.sqrt(functions.var_pop(x).over(window).plus(EPSILON))).as("e" + j);
        }
        Dataset<Row> windowed = data.select(expected);
        List<Row> compared = model.transform(data).join(windowed, "id")
                .select("id", "y0", "y1", "y2", "e0", "e1", "e2").collectAsList();
        assertEquals(samples.size(), compared.size());
        for (Row row : compared) {
            // x1 and x2 are well conditioned, so the window query is an accurate reference for them. x0 = 1e6 + N(0, 1)
            // is not (avg over a window sums the raw values): it is compared with the BigDecimal reference instead.
            for (int j = 1; j < FEATURES.length; j++) {
                Tolerance.assertClose(row.getDouble(4 + j), row.getDouble(1 + j), 1e-9, 1e-9, "row " + row);
            }
            Sample s = samples.get((int) row.getLong(0));
            ExactReference reference = references.computeIfAbsent(s.key().subList(0, 2),
                    key -> reference(groups.get(key), false));
            assertNormalized(reference, 0, s.x()[0], false, row.getDouble(1), "x0 of row " + s.id());
        }
    }

    @Test
    void weightedArrayAndVectorInputWithInvalidValuesKeptMatchTheExactReference() {
        List<Sample> samples = samples(12, 3000, true);
        Dataset<Row> data = frame(samples);
        Map<List<Object>, List<Sample>> groups = byGroup(samples, 4);
        Map<List<Object>, ExactReference> references = new HashMap<>();
        for (String inputCol : new String[] {"arr", "vec"}) {
            for (String summation : new String[] {"fast", "exact"}) {
                BatchNormalizationModel model = new BatchNormalization().setInputCol(inputCol).setOutputCol("out")
                        .setWeightCol("w").setHandleInvalid("keep").setSummation(summation).setVarianceMode("sample")
                        .setGroupCols("store", "day", "date", "flag").fit(data);
                assertEquals(groups.size(), model.groupCount(), inputCol);
                Map<List<Object>, Row> fitted = new HashMap<>();
                for (Row row : model.groupStatistics().collectAsList()) {
                    List<Object> key = java.util.Arrays.asList(row.get(0), row.get(1), row.get(2), row.get(3));
                    ExactReference reference = references.computeIfAbsent(key, k -> reference(groups.get(k), true));
                    fitted.put(key, row);
                    for (int j = 0; j < FEATURES.length; j++) {
                        if (reference.weightSum(j) == 0.0) {
                            continue;
                        }
                        Tolerance.assertClose(reference.mean(j), row.<Double>getList(5).get(j), 1e-12, 1e-15,
                                inputCol + " mean " + key);
                        Tolerance.assertClose(reference.sampleVariance(j), row.<Double>getList(6).get(j), 1e-9, 1e-18,
                                inputCol + " variance " + key);
                    }
                }
                List<Row> out = model.transform(data).select("id", "out").collectAsList();
                assertEquals(samples.size(), out.size());
                for (Row row : out) {
                    Sample s = samples.get((int) row.getLong(0));
                    ExactReference reference = references.computeIfAbsent(s.key(),
                            key -> reference(groups.get(key), true));
                    double[] y = inputCol.equals("vec") ? ((Vector) row.get(1)).toArray()
                            : row.<Double>getList(1).stream().mapToDouble(Double::doubleValue).toArray();
                    for (int j = 0; j < FEATURES.length; j++) {
                        if (!Double.isFinite(s.x()[j])) {
                            assertEquals(s.x()[j], y[j], "invalid values pass through under keep");
                        } else if (reference.weightSum(j) > 0.0) {
                            assertNormalized(reference, j, s.x()[j], true, y[j], inputCol + " row " + s.id());
                        }
                    }
                }
            }
        }
    }

    @Test
    void aSingleIntegerGroupColumnKeepsItsNullGroupApartFromGroupZero() {
        // day is 0, 1, 2 or null: the join on one integral column looks groups up by the value with null as 0, so the
        // null group and group 0 share a key and must still get their own statistics.
        List<Sample> samples = samples(17, 3000, false);
        Dataset<Row> data = frame(samples);
        BatchNormalizationModel model = new BatchNormalization().setInputCols("x1").setOutputCols("y1")
                .setGroupCols("day").fit(data);
        assertEquals(4, model.groupCount());
        Map<Integer, List<double[]>> byDay = new HashMap<>();
        for (Sample s : samples) {
            byDay.computeIfAbsent(s.day(), k -> new ArrayList<>()).add(new double[] {s.x()[1]});
        }
        assertTrue(byDay.containsKey(null) && byDay.containsKey(0), "both the null group and group 0 are present");
        Map<Integer, ExactReference> references = new HashMap<>();
        List<Row> rows = model.transform(data).select("id", "x1", "y1").collectAsList();
        assertEquals(samples.size(), rows.size());
        for (Row row : rows) {
            Integer day = samples.get((int) row.getLong(0)).day();
            ExactReference reference = references.computeIfAbsent(day,
                    key -> ExactReference.of(byDay.get(key).toArray(new double[0][])));
            assertNormalized(reference, 0, row.getDouble(1), false, row.getDouble(2), "row " + row + " of day " + day);
        }

        BatchNormalizationModel withoutNull = new BatchNormalization().setInputCols("x1").setOutputCols("y1")
                .setGroupCols("day").fit(data.filter(functions.col("day").isNotNull()));
        Exception error = assertThrows(Exception.class, () -> withoutNull.transform(data).select("y1").collectAsList());
        assertTrue(Expect.messagesOf(error).contains("Group (day=null) was not seen in the fit"),
                Expect.messagesOf(error));
        assertEquals(byDay.get(null).size(), data.count() - withoutNull.copy(new org.apache.spark.ml.param.ParamMap())
                .setHandleUnseenGroup("skip").transform(data).count());
    }

    @Test
    void unseenGroupsFailSkipOrTakeTheGlobalStatistics() {
        List<Sample> samples = samples(13, 2000, false);
        Dataset<Row> data = frame(samples);
        Dataset<Row> training = data.filter(functions.not(functions.col("store").eqNullSafe("s3")));
        BatchNormalization estimator = new BatchNormalization().setInputCols("x0").setOutputCols("y0")
                .setGroupCols("store");
        BatchNormalizationModel model = estimator.fit(training);
        long unseen = samples.stream().filter(s -> "s3".equals(s.store())).count();
        assertTrue(unseen > 0);

        Exception error = assertThrows(Exception.class, () -> model.transform(data).select("y0").collectAsList());
        assertTrue(Expect.messagesOf(error).contains("Group (store=s3) was not seen in the fit"), Expect.messagesOf(error));

        assertEquals(samples.size() - unseen, model.copy(new org.apache.spark.ml.param.ParamMap())
                .setHandleUnseenGroup("skip").transform(data).count());

        BatchNormalizationModel global = model.copy(new org.apache.spark.ml.param.ParamMap())
                .setHandleUnseenGroup("global");
        double[][] trainingRows = samples.stream().filter(s -> !"s3".equals(s.store()))
                .map(s -> new double[] {s.x()[0]}).toArray(double[][]::new);
        ExactReference all = ExactReference.of(trainingRows);
        for (Row row : global.transform(data.filter(functions.col("store").equalTo("s3"))).select("x0", "y0")
                .collectAsList()) {
            assertNormalized(all, 0, row.getDouble(0), false, row.getDouble(1), "unseen group with global statistics");
        }
    }

    @Test
    void groupsSmallerThanMinGroupCountUseTheGlobalStatistics() {
        List<Sample> samples = samples(14, 2000, false);
        Dataset<Row> data = frame(samples);
        BatchNormalizationModel model = new BatchNormalization().setInputCols("x0").setOutputCols("y0")
                .setGroupCols("store", "day").setMinGroupCount(120).fit(data);
        Map<List<Object>, List<Sample>> groups = byGroup(samples, 2);
        ExactReference all = ExactReference.of(samples.stream().map(s -> new double[] {s.x()[0]}).toArray(double[][]::new));
        Map<List<Object>, ExactReference> references = new HashMap<>();
        int small = 0;
        for (Row row : model.transform(data).select("id", "y0").collectAsList()) {
            Sample s = samples.get((int) row.getLong(0));
            List<Sample> group = groups.get(s.key().subList(0, 2));
            ExactReference reference = group.size() < 120 ? all : references.computeIfAbsent(s.key().subList(0, 2),
                    key -> ExactReference.of(group.stream().map(g -> new double[] {g.x()[0]}).toArray(double[][]::new)));
            small += group.size() < 120 ? 1 : 0;
            assertNormalized(reference, 0, s.x()[0], false, row.getDouble(1),
                    "row " + s.id() + " of a group of " + group.size());
        }
        assertTrue(small > 0 && small < samples.size(), "both small and large groups: " + small);
    }

    @Test
    void invalidValuesUnderErrorFailTheFitNamingTheColumnOnEitherRoute() {
        Dataset<Row> data = frame(samples(16, 600, true));
        // Unweighted scalar columns take the Spark SQL route; a weight column sends them through the accumulators.
        assertMessage("Input column 'x1' has an invalid value", () -> new BatchNormalization()
                .setInputCols(FEATURES).setOutputCols("y0", "y1", "y2").setGroupCols("store").fit(data));
        assertMessage("Input column 'x1' has an invalid value", () -> new BatchNormalization()
                .setInputCols(FEATURES).setOutputCols("y0", "y1", "y2").setWeightCol("w").setGroupCols("store")
                .fit(data));
        assertMessage("Input column 'arr' has an invalid value", () -> new BatchNormalization()
                .setInputCol("arr").setOutputCol("out").setGroupCols("store").fit(data));
        BatchNormalizationModel skipping = new BatchNormalization().setInputCols(FEATURES)
                .setOutputCols("y0", "y1", "y2").setGroupCols("store").setHandleInvalid("skip").fit(data);
        long valid = data.filter(functions.isnan(functions.col("x1")).or(functions.col("x1").isin(
                Double.POSITIVE_INFINITY)).unary_$bang()).count();
        assertEquals(valid, skipping.groupStatistics().agg(functions.sum("count")).head().getLong(0));
        assertEquals(valid, skipping.transform(data).count());
    }

    @Test
    void badGroupColumnsFailBeforeAnyWorkNamingTheColumn() {
        Dataset<Row> data = frame(samples(15, 10, false))
                .withColumn("tags", functions.map(functions.lit("k"), functions.col("x0")));
        BatchNormalization base = new BatchNormalization().setInputCols("x0", "x1").setOutputCols("y0", "y1");
        assertMessage("Group column 'nope' does not exist", () -> base.copy(new org.apache.spark.ml.param.ParamMap())
                .setGroupCols("nope").fit(data));
        assertMessage("Group column 'x1' is also an input", () -> base.copy(new org.apache.spark.ml.param.ParamMap())
                .setGroupCols("x1").fit(data));
        assertMessage("Group column 'tags' has type map<string,double>", () -> base.copy(
                new org.apache.spark.ml.param.ParamMap()).setGroupCols("tags").transformSchema(data.schema()));
        assertMessage("Group column 'w' is also an input, weight or output", () -> base.copy(
                new org.apache.spark.ml.param.ParamMap()).setWeightCol("w").setGroupCols("w").fit(data));
        assertMessage("Group column 'store' is named more than once", () -> base.copy(
                new org.apache.spark.ml.param.ParamMap()).setGroupCols("store", "store").fit(data));
    }

    @Test
    void manyGroupsAreJoinedWithoutTheDriverHoldingThem() throws Exception {
        int rows = 60_000;
        Dataset<Row> data = SPARK.range(rows).select(functions.col("id"),
                functions.col("id").mod(20_000).as("user"),
                functions.sin(functions.col("id")).multiply(100).as("x0"),
                functions.cos(functions.col("id")).as("x1")).repartition(4);
        AtomicLong largestResult = new AtomicLong();
        SparkListener listener = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
                if (taskEnd.taskMetrics() != null) {
                    largestResult.accumulateAndGet(taskEnd.taskMetrics().resultSize(), Math::max);
                }
            }
        };
        SPARK.conf().set(GroupedNormalizer.BROADCAST_BYTES_CONF, "1000");
        SPARK.sparkContext().addSparkListener(listener);
        try {
            BatchNormalizationModel model = new BatchNormalization().setInputCols("x0", "x1").setOutputCols("y0", "y1")
                    .setGroupCols("user").fit(data);
            Dataset<Row> out = model.transform(data);
            String plan = out.queryExecution().executedPlan().toString();
            assertFalse(plan.contains("Broadcast"), plan);
            assertEquals(rows, out.filter(functions.col("y0").isNotNull()).count());
            assertEquals(20_000, model.groupCount());
            SPARK.sparkContext().listenerBus().waitUntilEmpty();
            // 20,000 groups take about 2 MB; a task sends the driver a few kilobytes of metrics, never a share of them.
            assertTrue(largestResult.get() < 64 * 1024, "largest task result " + largestResult.get());
        } finally {
            SPARK.sparkContext().removeSparkListener(listener);
            SPARK.conf().unset(GroupedNormalizer.BROADCAST_BYTES_CONF);
        }
    }

    /**
     * The normalised value against the BigDecimal reference: within 1e-9 relative, or within 8 ulps of {@code x} in output
     * units, since {@code x - mean} in double cannot be more exact than the rounding of x and of the mean.
     */
    private static void assertNormalized(ExactReference reference, int feature, double x, boolean sample, double actual,
            String what) {
        double expected = reference.normalize(feature, x, sample, EPSILON, 1.0, 0.0, true, true);
        double spread = Math.sqrt((sample ? reference.sampleVariance(feature) : reference.populationVariance(feature))
                + EPSILON);
        double allowed = 1e-9 * Math.abs(expected) + 8 * Math.ulp(x) / spread;
        assertTrue(Math.abs(actual - expected) <= allowed, what + ": expected " + expected + " but was " + actual
                + " (difference " + Math.abs(actual - expected) + ", allowed " + allowed + ")");
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable action) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, action);
        assertTrue(error.getMessage().contains(expected), error.getMessage());
    }
}
