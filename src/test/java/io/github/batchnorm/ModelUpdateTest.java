package io.github.batchnorm;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.Expect;
import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Updating a fitted model with new data: the exact merge and momentum")
class ModelUpdateTest {
    private static final double TIGHT = 1e-12;
    private static final String[] COLUMNS = {"a", "b", "c"};
    private static final String[] OUTPUTS = {"a_bn", "b_bn", "c_bn"};

    private static SparkSession spark;

    @BeforeAll
    static void startSpark() {
        spark = SparkTestSession.get();
    }

    private static double[][] rows(double[][] all, int from, int to) {
        return Arrays.copyOfRange(all, from, to);
    }

    /** Fits the first part and updates with each later one, in order. */
    private static BatchNormalizationModel fitThenUpdate(BatchNormalization estimator, List<Dataset<Row>> parts) {
        BatchNormalizationModel model = estimator.fit(parts.get(0));
        for (Dataset<Row> part : parts.subList(1, parts.size())) {
            model = model.update(part);
        }
        return model;
    }

    private static void assertMatchesReference(ExactReference reference, int feature, FeatureStatistics statistics,
            int statisticsFeature, String what) {
        double spread = Math.sqrt(reference.populationVariance(feature));
        assertClose(reference.mean(feature), statistics.mean()[statisticsFeature], TIGHT, spread, what + " mean");
        assertRelative(reference.populationVariance(feature),
                statistics.variance(VarianceMode.POPULATION)[statisticsFeature], TIGHT, what + " population variance");
        assertRelative(reference.sampleVariance(feature), statistics.variance(VarianceMode.SAMPLE)[statisticsFeature],
                TIGHT, what + " sample variance");
    }

    private static void assertSameStatistics(FeatureStatistics expected, FeatureStatistics actual) {
        assertEquals(expected.rowCount(), actual.rowCount(), "rowCount");
        assertArrayEquals(expected.count(), actual.count(), "per-feature counts");
        for (int j = 0; j < expected.numFeatures(); j++) {
            double spread = Math.sqrt(expected.variance(VarianceMode.POPULATION)[j]);
            assertRelative(expected.weightSum()[j], actual.weightSum()[j], TIGHT, "weightSum " + j);
            assertRelative(expected.weightSquareSum()[j], actual.weightSquareSum()[j], TIGHT, "weightSquareSum " + j);
            assertClose(expected.mean()[j], actual.mean()[j], TIGHT, spread, "mean " + j);
            assertRelative(expected.variance(VarianceMode.POPULATION)[j], actual.variance(VarianceMode.POPULATION)[j],
                    TIGHT, "variance " + j);
        }
    }

    @ParameterizedTest(name = "sparse={0}")
    @ValueSource(booleans = {false, true})
    void updateEqualsAFitOnTheUnion(boolean sparse) {
        double[][] all = sparse ? Data.sparse(101, 900, 4, 0.3) : Data.dense(101, 900, 4);
        ExactReference reference = ExactReference.of(all);
        int[][] splits = {{0, 450, 900}, {0, 1, 2, 900}, {0, 100, 250, 251, 600, 900}};
        for (int[] split : splits) {
            List<Dataset<Row>> parts = new ArrayList<>();
            for (int k = 0; k + 1 < split.length; k++) {
                parts.add(SparkTestSession.vectors(rows(all, split[k], split[k + 1]), sparse, 2));
            }
            BatchNormalizationModel model = fitThenUpdate(new BatchNormalization().setOutputCol("y"), parts);
            assertTrue(model.statistics().isExact());
            assertEquals(900, model.count());
            for (int j = 0; j < 4; j++) {
                assertMatchesReference(reference, j, model.statistics(), j,
                        "split " + Arrays.toString(split) + " feature " + j);
            }
            assertSameStatistics(new BatchNormalization().fit(SparkTestSession.vectors(all, sparse, 3)).statistics(),
                    model.statistics());
        }
    }

    /** Scalar columns a, b, c with weights; values chosen by {@code missing} become null or NaN. */
    private static Dataset<Row> scalars(double[][] values, double[] weights, int from, int to, boolean[][] missing) {
        List<Row> data = new ArrayList<>();
        for (int i = from; i < to; i++) {
            Object[] fields = new Object[5];
            fields[0] = (long) i;
            for (int j = 0; j < 3; j++) {
                fields[j + 1] = missing[i][j] ? (i % 2 == 0 ? null : (Object) Double.NaN) : (Object) values[i][j];
            }
            fields[4] = weights[i];
            data.add(RowFactory.create(fields));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("a", DataTypes.DoubleType)
                .add("b", DataTypes.DoubleType).add("c", DataTypes.DoubleType).add("w", DataTypes.DoubleType);
        return spark.createDataFrame(data, schema).repartition(2);
    }

    @Test
    void weightedUpdatesWithPerFeatureCountsEqualAFitOnTheUnion() {
        int n = 600;
        double[][] values = Data.dense(102, n, 3);
        SplittableRandom random = new SplittableRandom(103);
        double[] weights = new double[n];
        boolean[][] missing = new boolean[n][3];
        for (int i = 0; i < n; i++) {
            // Half-step weights are exact binary fractions: their sums do not depend on the order of addition.
            weights[i] = random.nextInt(0, 6) * 0.5;
            missing[i][0] = random.nextDouble() < 0.1;
            missing[i][1] = random.nextDouble() < 0.3;
            // Column c has no value at all in rows 200..349: that whole part leaves c's statistics as they were.
            missing[i][2] = (i >= 200 && i < 350) || random.nextDouble() < 0.05;
        }
        int[][] splits = {{0, 200, 350, 600}, {0, 350, 600}, {0, 50, 200, 350, 351, 600}};
        BatchNormalization estimator = new BatchNormalization().setInputCols(COLUMNS).setOutputCols(OUTPUTS)
                .setWeightCol("w").setHandleInvalid("keep");
        BatchNormalizationModel union = estimator.fit(scalars(values, weights, 0, n, missing));
        for (int[] split : splits) {
            List<Dataset<Row>> parts = new ArrayList<>();
            for (int k = 0; k + 1 < split.length; k++) {
                parts.add(scalars(values, weights, split[k], split[k + 1], missing));
            }
            BatchNormalizationModel model = fitThenUpdate(estimator, parts);
            assertSameStatistics(union.statistics(), model.statistics());
            assertArrayEquals(union.statistics().weightSum(), model.statistics().weightSum());
        }
        // Independently: each feature's statistics are the reference of its own valid, weighted values.
        BatchNormalizationModel model = fitThenUpdate(estimator, List.of(scalars(values, weights, 0, 200, missing),
                scalars(values, weights, 200, 350, missing), scalars(values, weights, 350, n, missing)));
        for (int j = 0; j < 3; j++) {
            List<double[]> valid = new ArrayList<>();
            List<Double> validWeights = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (!missing[i][j] && weights[i] > 0) {
                    valid.add(new double[] {values[i][j]});
                    validWeights.add(weights[i]);
                }
            }
            assertEquals(valid.size(), model.statistics().count()[j], "count of " + COLUMNS[j]);
            ExactReference reference = ExactReference.weighted(valid.toArray(new double[0][]),
                    validWeights.stream().mapToDouble(Double::doubleValue).toArray());
            assertMatchesReference(reference, 0, model.statistics(), j, COLUMNS[j]);
        }
    }

    @Test
    void updateReturnsANewModelAndLeavesTheOriginalAsItWas() {
        double[][] all = Data.dense(104, 200, 3);
        BatchNormalization estimator = new BatchNormalization().setOutputCol("y").setEpsilon(1e-3).setGamma(1, 2, 3);
        BatchNormalizationModel model = estimator.fit(SparkTestSession.vectors(rows(all, 0, 100), false, 2));
        FeatureStatistics before = model.statistics();
        BatchNormalizationModel updated = model.update(SparkTestSession.vectors(rows(all, 100, 200), false, 2));
        assertEquals(before, model.statistics(), "the original keeps its statistics");
        assertEquals(100, model.count());
        assertEquals(200, updated.count());
        ExactReference first = ExactReference.of(rows(all, 0, 100));
        ExactReference both = ExactReference.of(all);
        for (int j = 0; j < 3; j++) {
            assertMatchesReference(first, j, model.statistics(), j, "original, feature " + j);
            assertMatchesReference(both, j, updated.statistics(), j, "updated, feature " + j);
        }
        assertEquals(model.uid(), updated.uid());
        assertSame(estimator, updated.parent());
        assertEquals(1e-3, updated.getEpsilon());
        assertArrayEquals(new double[] {1, 2, 3}, updated.getGamma());
        assertEquals("y", updated.getOutputCol());
    }

    @Test
    void dataWithNoRowOfPositiveWeightChangesNothing() {
        double[][] all = Data.dense(105, 50, 2);
        Dataset<Row> data = SparkTestSession.vectors(all, false, 2);
        BatchNormalizationModel model = new BatchNormalization().fit(data);
        assertEquals(model.statistics(), model.update(data.limit(0)).statistics());
        BatchNormalizationModel weighted = new BatchNormalization().setWeightCol("w")
                .fit(data.withColumn("w", org.apache.spark.sql.functions.lit(1.0)));
        assertEquals(weighted.statistics(), weighted.update(data.withColumn("w", org.apache.spark.sql.functions.lit(0.0)))
                .statistics());
        assertEquals(model.statistics(), model.setMomentum(0.5).update(data.limit(0)).statistics());
    }

    @Test
    void updateRejectsDataWithAnotherNumberOfFeaturesNamingBothSizes() {
        BatchNormalizationModel model = new BatchNormalization().fit(SparkTestSession.vectors(Data.dense(106, 30, 3),
                false, 2));
        Dataset<Row> four = SparkTestSession.vectors(Data.dense(107, 30, 4), false, 2);
        assertEquals("Cannot update the model: input column 'features' has 4 features, but the model has 3.",
                Expect.illegalArgument(() -> model.update(four)));

        BatchNormalizationModel imported = BatchNormalizationModel.fromStatistics(new double[] {0, 0, 0},
                new double[] {1, 1, 1}, new double[0], new double[0], 1e-5).setMomentum(0.9).setInputCols("a", "b")
                .setOutputCols("a_bn", "b_bn");
        Dataset<Row> twoColumns = scalars(Data.dense(108, 10, 3), new double[10], 0, 10, new boolean[10][3]);
        assertEquals("inputCols has 2 columns, but the model was fitted on 3 features.",
                Expect.illegalArgument(() -> imported.update(twoColumns)));
        assertEquals(0, Expect.jobsRunBefore(spark, () -> imported.update(twoColumns)));
    }

    @Test
    void updateRejectsAMissingColumnBeforeAnyJobAndIgnoresOutputColumns() {
        Dataset<Row> data = SparkTestSession.vectors(Data.dense(109, 30, 2), false, 2);
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(data);
        Dataset<Row> renamed = data.withColumnRenamed("features", "x");
        assertEquals("Input column 'features' does not exist. Available columns: id, x.",
                Expect.illegalArgument(() -> model.update(renamed)));
        assertEquals(0, Expect.jobsRunBefore(spark, () -> model.update(renamed)));
        // Already-normalised data still holds its inputs; update reads them and never writes the output column.
        BatchNormalizationModel updated = model.update(model.transform(data));
        assertEquals(60, updated.count());
        double[][] values = Data.dense(109, 30, 2);
        double[][] twice = new double[60][];
        for (int i = 0; i < 60; i++) {
            twice[i] = values[i % 30];
        }
        ExactReference reference = ExactReference.of(twice);
        for (int j = 0; j < 2; j++) {
            assertMatchesReference(reference, j, updated.statistics(), j, "the rows twice, feature " + j);
        }
    }

    @Test
    void updateFailsOnInvalidValuesAsFitDoes() {
        BatchNormalizationModel model = new BatchNormalization().fit(SparkTestSession.vectors(Data.dense(110, 30, 2),
                false, 2));
        Dataset<Row> withNaN = spark.createDataFrame(List.of(RowFactory.create(Vectors.dense(1, Double.NaN))),
                new StructType().add("features", org.apache.spark.ml.linalg.SQLDataTypes.VectorType()));
        assertTrue(Expect.illegalArgument(() -> model.update(withNaN)).startsWith("Input column 'features' has an invalid value NaN at"
                + " index 1."));
    }

    @ParameterizedTest(name = "{0} batch variance")
    @EnumSource(VarianceMode.class)
    void momentumMatchesItsClosedFormOverThreeBatches(VarianceMode mode) {
        double[][] all = Data.dense(111, 700, 3);
        int[] bounds = {0, 200, 450, 700};
        double m = 0.9;
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").setMomentum(m)
                .setVarianceMode(mode.paramValue()).fit(SparkTestSession.vectors(rows(all, 0, 200), false, 2));
        assertTrue(model.statistics().isExact(), "a fit is the first batch: momentum does not change it");
        for (int k = 1; k < 3; k++) {
            model = model.update(SparkTestSession.vectors(rows(all, bounds[k], bounds[k + 1]), false, 2));
        }
        assertFalse(model.statistics().isExact());
        assertEquals(700, model.count(), "counts keep accumulating");
        ExactReference[] batch = new ExactReference[3];
        for (int k = 0; k < 3; k++) {
            batch[k] = ExactReference.of(rows(all, bounds[k], bounds[k + 1]));
        }
        for (int j = 0; j < 3; j++) {
            double[] batchVariance = new double[3];
            for (int k = 0; k < 3; k++) {
                batchVariance[k] = mode == VarianceMode.SAMPLE ? batch[k].sampleVariance(j) : batch[k].populationVariance(j);
            }
            double mean = m * m * batch[0].mean(j) + m * (1 - m) * batch[1].mean(j) + (1 - m) * batch[2].mean(j);
            double variance = m * m * batchVariance[0] + m * (1 - m) * batchVariance[1] + (1 - m) * batchVariance[2];
            assertClose(mean, model.mean().apply(j), TIGHT, Math.sqrt(variance), "running mean " + j);
            assertRelative(variance, model.variance().apply(j), TIGHT, "running variance " + j);
        }
    }

    @Test
    void momentumUpdatesReproducePyTorchsRunningStatistics() {
        // The batches of MOMENTUM_BATCHES in fixtures/make_fixtures.py, which fed torch.nn.BatchNorm1d(2, eps=1e-5,
        // momentum=0.1, dtype=torch.float64) in training mode and recorded its running statistics after each batch and
        // its eval output on MOMENTUM_EVAL in fixtures/torch_momentum.csv.
        double[][][] batches = {
            {{1, 10}, {2, 30}, {4, 20}, {7, 50}, {11, 40}},
            {{-3, 12.5}, {0.5, 17.25}, {2.25, 9}, {6, 14}},
            {{8, 100}, {9.5, 60}, {10, 75}, {3, 80}, {5.5, 90}, {12, 70}}};
        Map<String, double[]> torch = torchMomentumFixture();
        double[][] torchMean = {torch.get("running_mean_0"), torch.get("running_mean_1"), torch.get("running_mean_2")};
        double[][] torchVar = {torch.get("running_var_0"), torch.get("running_var_1"), torch.get("running_var_2")};
        double[][] torchEval = {torch.get("eval_0"), torch.get("eval_1")};

        // PyTorch starts from running_mean = 0, running_var = 1, with momentum_torch = 1 - momentum.
        BatchNormalizationModel model = BatchNormalizationModel.fromStatistics(new double[] {0, 0}, new double[] {1, 1},
                new double[] {1.5, -0.5}, new double[] {0.25, 2.0}, 1e-5, "sample").setMomentum(1 - 0.1);
        for (int k = 0; k < 3; k++) {
            model = model.update(SparkTestSession.vectors(batches[k], false, 2));
            for (int j = 0; j < 2; j++) {
                assertRelative(torchMean[k][j], model.mean().apply(j), TIGHT, "running_mean after batch " + k);
                assertRelative(torchVar[k][j], model.variance().apply(j), TIGHT, "running_var after batch " + k);
            }
        }
        assertEquals(15, model.count());
        List<Row> out = model.setOutputCol("y").transform(SparkTestSession.vectors(new double[][] {{4, 55}, {-1, 0}},
                false, 1)).orderBy("id").select("y").collectAsList();
        for (int r = 0; r < 2; r++) {
            org.apache.spark.ml.linalg.Vector y = out.get(r).getAs(0);
            for (int j = 0; j < 2; j++) {
                assertRelative(torchEval[r][j], y.apply(j), TIGHT, "eval output row " + r + " feature " + j);
            }
        }
    }

    /** Rows of fixtures/torch_momentum.csv by their stat name. */
    private static Map<String, double[]> torchMomentumFixture() {
        Map<String, double[]> rows = new java.util.HashMap<>();
        try (java.io.BufferedReader reader = new java.io.BufferedReader(new java.io.InputStreamReader(
                ModelUpdateTest.class.getResourceAsStream("/fixtures/torch_momentum.csv"),
                java.nio.charset.StandardCharsets.UTF_8))) {
            assertEquals("stat,x0,x1", reader.readLine());
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                String[] fields = line.split(",");
                rows.put(fields[0], new double[] {Double.parseDouble(fields[1]), Double.parseDouble(fields[2])});
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertEquals(8, rows.size(), "running mean and variance after 3 batches, and 2 eval rows");
        return rows;
    }

    @Test
    void fitIgnoresMomentum() {
        // One partition: Spark merges partition summaries in the order tasks finish, which changes the last bits.
        Dataset<Row> data = SparkTestSession.vectors(Data.dense(112, 100, 3), false, 1);
        FeatureStatistics withMomentum = new BatchNormalization().setMomentum(0.5).fit(data).statistics();
        assertTrue(withMomentum.isExact());
        assertEquals(new BatchNormalization().fit(data).statistics(), withMomentum);
    }

    @Test
    void momentumIsValidatedAndOptional() {
        BatchNormalization estimator = new BatchNormalization();
        assertFalse(estimator.isSet(estimator.momentum()));
        assertThrows(NoSuchElementException.class, estimator::getMomentum);
        for (double bad : new double[] {-0.1, 1.0, Double.NaN}) {
            assertTrue(Expect.illegalArgument(() -> estimator.setMomentum(bad)).contains("parameter momentum given invalid value " + bad));
        }
        assertEquals(0.0, estimator.setMomentum(0.0).getMomentum());
        estimator.clear(estimator.momentum());
        assertFalse(estimator.isSet(estimator.momentum()));
    }

    @Test
    void runningStatisticsAreNeverMergedAsIfTheyWereExact() {
        Dataset<Row> data = SparkTestSession.vectors(Data.dense(113, 40, 2), false, 2);
        BatchNormalizationModel imported = BatchNormalizationModel.fromStatistics(new double[] {0, 0},
                new double[] {1, 1}, new double[0], new double[0], 1e-3);
        String expected = "Cannot update this model exactly: its statistics are running statistics (from fromStatistics"
                + " or updates with momentum), not the moments of any data, so new data cannot be merged into them"
                + " exactly. Set momentum to update them as a moving average.";
        assertEquals(expected, Expect.illegalArgument(() -> imported.update(data)));
        assertEquals(0, Expect.jobsRunBefore(spark, () -> imported.update(data)));

        BatchNormalizationModel averaged = new BatchNormalization().setMomentum(0.5).fit(data).update(data);
        averaged.clear(averaged.momentum());
        assertEquals(expected, Expect.illegalArgument(() -> averaged.update(data)));

        BatchNormalizationModel torch = BatchNormalizationModel.fromStatistics(new double[] {0, 0}, new double[] {1, 1},
                new double[0], new double[0], 1e-5, "sample").setMomentum(0.9).setVarianceMode("population");
        String convention = "varianceMode is 'population', but this model's statistics are running statistics (from"
                + " fromStatistics or updates with momentum) whose variance is a sample variance, which cannot be converted"
                + " without the exact moments. Set varianceMode to 'sample'.";
        assertEquals(convention, Expect.illegalArgument(() -> torch.update(data)));
        assertEquals(convention, Expect.illegalArgument(() -> torch.transform(data)));
        assertEquals(convention, Expect.illegalArgument(() -> torch.transformSchema(data.schema())));
        assertEquals(0, Expect.jobsRunBefore(spark, () -> torch.update(data)));
        assertTrue(torch.toString().contains("running statistics (sample variance)"), torch.toString());
    }
}
