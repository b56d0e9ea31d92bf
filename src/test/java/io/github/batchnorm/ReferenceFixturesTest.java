package io.github.batchnorm;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.SparkTestSession;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Checks the library against numbers computed by other libraries: PyTorch's {@code BatchNorm1d}, scikit-learn's
 * {@code StandardScaler} and numpy, stored as CSV under {@code src/test/resources/fixtures/} by {@code make_fixtures.py}
 * there (which documents each file and the library versions). The data has features on very different scales (about 1e6
 * with spread 1e3, 0..1, 1e4 with spread 1, integers 1..100, and a constant 42.42), plus integer row weights and a copy
 * with about 5% NaN. Python is needed only to regenerate the files, never to run this test.
 *
 * <p>Statistics must agree to 1e-12 relative. Outputs must agree to 1e-15 relative with a floor of 1.0, once the
 * differences that the references' own statistics and rounding make are allowed for; those are known from their stats
 * fixtures rather than guessed (see {@code assertOutputsMatch}).
 */
@DisplayName("Reference fixtures from PyTorch, scikit-learn and numpy")
class ReferenceFixturesTest {
    private static final double TIGHT = 1e-12;
    /** About 4.5 ulps of 1: each map rounds two or three times at the size of the output. */
    private static final double OUTPUT = 1e-15;
    private static final String[] INPUTS = {"x0", "x1", "x2", "x3", "x4"};
    private static final String[] OUTPUTS = {"y0", "y1", "y2", "y3", "y4"};
    private static final int FEATURES = INPUTS.length;
    private static final int CONSTANT_FEATURE = 4;
    private static final double CONSTANT = 42.42;
    private static final double TORCH_EPSILON = 1e-5;

    private static double[][] input;
    private static double[][] inputWithNan;
    private static double[] weights;
    /** {@code id}, the scalar columns {@code x0..x4}, the weight {@code w} and the same row as a Vector {@code features}. */
    private static Dataset<Row> table;
    /** The same layout for the copy of the input with NaN values (weight 1 everywhere). */
    private static Dataset<Row> tableWithNan;

    @BeforeAll
    static void readFixtures() {
        input = readTable("input.csv", INPUTS);
        inputWithNan = readTable("input_nan.csv", INPUTS);
        double[][] w = readTable("weights.csv", new String[] {"w"});
        weights = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            weights[i] = w[i][0];
        }
        assertEquals(input.length, weights.length, "one weight per input row");
        assertEquals(input.length, inputWithNan.length, "the NaN copy has the input's rows");
        double[] unitWeights = new double[input.length];
        Arrays.fill(unitWeights, 1.0);
        table = frame(input, weights);
        tableWithNan = frame(inputWithNan, unitWeights);
    }

    private static InputStream resource(String name) {
        InputStream stream = ReferenceFixturesTest.class.getResourceAsStream("/fixtures/" + name);
        assertNotNull(stream, "fixture /fixtures/" + name + " is on the test classpath");
        return stream;
    }

    /** The lines of a fixture after its header, which must be {@code header} joined by commas. */
    private static List<String[]> readLines(String name, String expectedHeader) {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(resource(name), StandardCharsets.UTF_8))) {
            assertEquals(expectedHeader, reader.readLine(), "header of " + name);
            List<String[]> lines = new ArrayList<>();
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (!line.isEmpty()) {
                    lines.add(line.split(",", -1));
                }
            }
            return lines;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A table fixture: one row per line, one double per column ({@code NaN} reads as NaN). */
    private static double[][] readTable(String name, String[] header) {
        List<String[]> lines = readLines(name, String.join(",", header));
        double[][] values = new double[lines.size()][];
        for (int i = 0; i < values.length; i++) {
            String[] fields = lines.get(i);
            assertEquals(header.length, fields.length, name + " line " + (i + 2));
            values[i] = new double[fields.length];
            for (int j = 0; j < fields.length; j++) {
                values[i][j] = Double.parseDouble(fields[j]);
            }
        }
        return values;
    }

    /** A statistics fixture: rows {@code name,x0,...,x4}, by name. */
    private static Map<String, double[]> readStatistics(String name) {
        Map<String, double[]> statistics = new LinkedHashMap<>();
        for (String[] fields : readLines(name, "stat," + String.join(",", INPUTS))) {
            assertEquals(FEATURES + 1, fields.length, name + " row " + fields[0]);
            double[] values = new double[FEATURES];
            for (int j = 0; j < FEATURES; j++) {
                values[j] = Double.parseDouble(fields[j + 1]);
            }
            statistics.put(fields[0], values);
        }
        return statistics;
    }

    private static double[] statistic(Map<String, double[]> statistics, String name) {
        double[] values = statistics.get(name);
        assertNotNull(values, "statistic " + name + " in " + statistics.keySet());
        return values;
    }

    private static Dataset<Row> frame(double[][] rows, double[] rowWeights) {
        StructType schema = new StructType().add("id", DataTypes.LongType);
        for (String column : INPUTS) {
            schema = schema.add(column, DataTypes.DoubleType);
        }
        schema = schema.add("w", DataTypes.DoubleType).add("features", SQLDataTypes.VectorType());
        List<Row> data = new ArrayList<>(rows.length);
        for (int i = 0; i < rows.length; i++) {
            Object[] fields = new Object[FEATURES + 3];
            fields[0] = (long) i;
            for (int j = 0; j < FEATURES; j++) {
                fields[j + 1] = rows[i][j];
            }
            fields[FEATURES + 1] = rowWeights[i];
            fields[FEATURES + 2] = Vectors.dense(rows[i].clone());
            data.add(RowFactory.create(fields));
        }
        return SparkTestSession.get().createDataFrame(data, schema).repartition(3);
    }

    /** The scalar output columns, indexed by row id. */
    private static double[][] scalarOutputs(Dataset<Row> transformed) {
        double[][] out = new double[input.length][FEATURES];
        for (Row row : transformed.collectAsList()) {
            for (int j = 0; j < FEATURES; j++) {
                out[(int) row.getLong(row.fieldIndex("id"))][j] = row.getDouble(row.fieldIndex(OUTPUTS[j]));
            }
        }
        return out;
    }

    /** A Vector output column, indexed by row id. */
    private static double[][] vectorOutputs(Dataset<Row> transformed, String column) {
        double[][] out = new double[input.length][];
        for (Row row : transformed.select("id", column).collectAsList()) {
            out[(int) row.getLong(0)] = ((Vector) row.getAs(1)).toArray();
        }
        return out;
    }

    /** scikit-learn's per-feature scale {@code 1 / scale_}, with {@code scale_ = sqrt(var_)}, or 1 where var_ is 0. */
    private static double[] sklearnScale(Map<String, double[]> sklearn) {
        double[] variance = statistic(sklearn, "var_");
        double[] scale = new double[FEATURES];
        for (int j = 0; j < FEATURES; j++) {
            scale[j] = variance[j] == 0.0 ? 1.0 : 1.0 / Math.sqrt(variance[j]);
        }
        return scale;
    }

    /**
     * Outputs agree to {@link #OUTPUT} relative to {@code max(1, |y|)} once the known differences of the reference's
     * numbers from ours are allowed for. A reference maps {@code y = (x - theirMean) * theirScale + beta}, so its outputs
     * differ from ours by {@code |theirScale| * |theirMean - ourMean| + |x - ourMean| * |theirScale - ourScale|}, to
     * first order, from its statistics alone. Both are known (their numbers are in their stats fixture, and the tests
     * above check them against ours), so this is measured, not guessed. It matters where a mean is large next to the
     * spread: on x2 ({@code 1e4 + N(0, 1)}) PyTorch's and scikit-learn's means are a couple of ulps off ours, about 4e-12
     * in every output, and PyTorch's kernel variance of x2 moves its scale by about 2e-14 relative; on the constant x4
     * the kernel's mean is 8 ulps above 42.42, times gamma / sqrt(eps) = 949: 5.4e-11, and scikit-learn's output there
     * is its mean's error, -5.7e-14, where ours is exactly 0.
     *
     * <p>What is left is both maps' own rounding. Ours and scikit-learn's subtract the mean first and round at the size
     * of the output; PyTorch's CPU kernel folds the mean into one shift ({@code x * alpha + (beta - mean * alpha)} with
     * {@code alpha = gamma * invstd}), as this library once did, so its outputs also carry half an ulp of
     * {@code |alpha * x|} and of {@code |alpha * mean|} ({@code folds}): up to 1e-13 on x2.
     */
    private static void assertOutputsMatch(double[][] expected, double[][] actual, double[][] rows,
            BatchNormalizationModel model, double[] theirMean, double[] theirScale, boolean folds, String reference) {
        assertEquals(expected.length, actual.length, "rows");
        double[] ourMean = model.mean().toArray();
        double[] ourScale = model.coefficients().scale();
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < FEATURES; j++) {
                String what = reference + " row " + i + " feature " + j;
                if (Double.isNaN(expected[i][j])) {
                    assertTrue(Double.isNaN(actual[i][j]), what + ": NaN expected but was " + actual[i][j]);
                    continue;
                }
                double known = Math.abs(theirScale[j]) * Math.abs(theirMean[j] - ourMean[j])
                        + Math.abs(rows[i][j] - ourMean[j]) * Math.abs(theirScale[j] - ourScale[j]);
                if (folds) {
                    known += 0.5 * (Math.ulp(theirScale[j] * rows[i][j]) + Math.ulp(theirScale[j] * theirMean[j]));
                }
                double magnitude = Math.max(1.0, Math.abs(expected[i][j]));
                double off = Math.abs(actual[i][j] - expected[i][j]);
                assertTrue(off <= known + OUTPUT * magnitude, what + ": expected " + expected[i][j] + " but was "
                        + actual[i][j] + " (difference " + off + ", allowed " + known + " known + " + OUTPUT * magnitude
                        + ")");
            }
        }
    }

    @Test
    void fittedMeanAndPopulationVarianceMatchNumpyTorchAndSklearn() {
        BatchNormalizationModel model = new BatchNormalization().setInputCols(INPUTS).setOutputCols(OUTPUTS).fit(table);
        Map<String, double[]> numpy = readStatistics("numpy_stats.csv");
        Map<String, double[]> torch = readStatistics("torch_stats.csv");
        Map<String, double[]> sklearn = readStatistics("sklearn_stats.csv");
        assertEquals(input.length, model.count());
        assertArrayEquals(new long[] {300, 300, 300, 300, 300}, model.statistics().count());
        for (int j = 0; j < FEATURES; j++) {
            double mean = model.mean().apply(j);
            double variance = model.variance().apply(j);
            assertRelative(statistic(numpy, "mean")[j], mean, TIGHT, "numpy mean of feature " + j);
            assertRelative(statistic(torch, "mean")[j], mean, TIGHT, "torch.mean of feature " + j);
            assertRelative(statistic(torch, "kernel_mean")[j], mean, TIGHT, "BatchNorm1d kernel mean of feature " + j);
            assertRelative(statistic(sklearn, "mean_")[j], mean, TIGHT, "StandardScaler mean_ of feature " + j);
            assertRelative(statistic(torch, "var_biased")[j], variance, TIGHT, "torch biased variance of feature " + j);
            assertRelative(statistic(sklearn, "var_")[j], variance, TIGHT, "StandardScaler var_ of feature " + j);
            if (j != CONSTANT_FEATURE) {
                // numpy's var of the constant feature is not 0: see the constant-feature test.
                assertRelative(statistic(numpy, "var")[j], variance, TIGHT, "numpy var of feature " + j);
            }
        }
    }

    @Test
    void sampleVarianceIsTorchsUnbiasedVarianceAndRunningVar() {
        BatchNormalizationModel model = new BatchNormalization().setInputCols(INPUTS).setOutputCols(OUTPUTS)
                .setVarianceMode("sample").fit(table);
        Map<String, double[]> torch = readStatistics("torch_stats.csv");
        for (int j = 0; j < FEATURES; j++) {
            assertRelative(statistic(torch, "var_unbiased")[j], model.variance().apply(j), TIGHT,
                    "torch unbiased variance of feature " + j);
            assertRelative(statistic(torch, "running_mean")[j], model.mean().apply(j), TIGHT,
                    "BatchNorm1d running_mean of feature " + j);
            if (j != CONSTANT_FEATURE) {
                // running_var of the constant feature is not 0: see the constant-feature test.
                assertRelative(statistic(torch, "running_var")[j], model.variance().apply(j), TIGHT,
                        "BatchNorm1d running_var (momentum=None, one batch) of feature " + j);
            }
        }
    }

    @Test
    void populationModeWithGammaAndBetaReproducesTorchBatchNorm1dInTrainingMode() {
        Map<String, double[]> torch = readStatistics("torch_stats.csv");
        double[] gamma = statistic(torch, "gamma");
        double[] beta = statistic(torch, "beta");
        BatchNormalizationModel model = new BatchNormalization().setInputCols(INPUTS).setOutputCols(OUTPUTS)
                .setEpsilon(TORCH_EPSILON).setGamma(gamma).setBeta(beta).setVarianceMode("population").fit(table);
        for (int j = 0; j < FEATURES; j++) {
            // What the kernel normalised with: 1 / sqrt(biased variance + eps), gamma folded in by us.
            assertRelative(gamma[j] * statistic(torch, "kernel_invstd")[j], model.coefficients().scale()[j], TIGHT,
                    "gamma / sqrt(var + eps) of feature " + j);
        }
        double[] torchScale = new double[FEATURES];
        for (int j = 0; j < FEATURES; j++) {
            torchScale[j] = gamma[j] * statistic(torch, "kernel_invstd")[j];
        }
        assertOutputsMatch(readTable("torch_batchnorm1d.csv", OUTPUTS), scalarOutputs(model.transform(table)), input,
                model, statistic(torch, "kernel_mean"), torchScale, true, "torch BatchNorm1d");
    }

    @Test
    void zeroEpsilonPopulationModeReproducesSklearnStandardScalerOnAVectorColumn() {
        Map<String, double[]> sklearn = readStatistics("sklearn_stats.csv");
        BatchNormalizationModel model = new BatchNormalization().setInputCol("features").setOutputCol("y")
                .setEpsilon(0.0).fit(table);
        for (int j = 0; j < FEATURES; j++) {
            if (j != CONSTANT_FEATURE) {
                assertRelative(statistic(sklearn, "scale_")[j], Math.sqrt(model.variance().apply(j)), TIGHT,
                        "StandardScaler scale_ of feature " + j);
            }
        }
        assertOutputsMatch(readTable("sklearn_standard_scaler.csv", OUTPUTS), vectorOutputs(model.transform(table), "y"),
                input, model, statistic(sklearn, "mean_"), sklearnScale(sklearn), false, "sklearn StandardScaler");
    }

    @Test
    void constantFeatureHasExactlyZeroVarianceWhereNaiveSumsLeaveTheSquareOfTheirMeanError() {
        int n = input.length;
        for (double[] row : input) {
            assertEquals(CONSTANT, row[CONSTANT_FEATURE], "x4 is constant");
        }
        Map<String, double[]> numpy = readStatistics("numpy_stats.csv");
        Map<String, double[]> torch = readStatistics("torch_stats.csv");
        Map<String, double[]> sklearn = readStatistics("sklearn_stats.csv");
        BatchNormalizationModel model = new BatchNormalization().setInputCol("features").setOutputCol("y")
                .setEpsilon(0.0).fit(table);
        // Ours: the mean is the constant itself and the variance exactly 0.
        assertEquals(CONSTANT, model.mean().apply(CONSTANT_FEATURE));
        assertEquals(0.0, model.variance().apply(CONSTANT_FEATURE));
        assertEquals(0.0, statistic(torch, "var_biased")[CONSTANT_FEATURE], "torch.var agrees exactly");
        assertEquals(0.0, statistic(torch, "var_unbiased")[CONSTANT_FEATURE], "torch.var agrees exactly");
        assertEquals(0.0, statistic(sklearn, "var_")[CONSTANT_FEATURE], "sklearn zeroes a constant feature's var_");
        // numpy's mean and torch's BatchNorm1d kernel sum 300 copies of 42.42 and land 8 ulps above it; their variance
        // is then the square of that error (times n / (n - 1) for running_var), about 3e-27, not 0.
        double numpyMeanError = statistic(numpy, "mean")[CONSTANT_FEATURE] - CONSTANT;
        assertTrue(numpyMeanError != 0.0, "numpy's mean of the constant is not exact in this fixture");
        assertRelative(numpyMeanError * numpyMeanError, statistic(numpy, "var")[CONSTANT_FEATURE], TIGHT,
                "numpy var of the constant = (mean error)^2");
        double kernelMeanError = statistic(torch, "kernel_mean")[CONSTANT_FEATURE] - CONSTANT;
        assertRelative(kernelMeanError * kernelMeanError * n / (n - 1), statistic(torch, "running_var")[CONSTANT_FEATURE],
                TIGHT, "BatchNorm1d running_var of the constant = (kernel mean error)^2 * n / (n - 1)");
        // sklearn: var_ = 0, so scale_ = 1 and its output is x - mean_, which is that same mean error, -5.7e-14, not 0.
        // Ours with epsilon 0 maps a zero-variance feature to beta: exactly 0.
        assertEquals(1.0, statistic(sklearn, "scale_")[CONSTANT_FEATURE], "sklearn's scale_ of a constant feature");
        double[][] theirs = readTable("sklearn_standard_scaler.csv", OUTPUTS);
        double[][] ours = vectorOutputs(model.transform(table), "y");
        for (int i = 0; i < n; i++) {
            assertEquals(CONSTANT - statistic(sklearn, "mean_")[CONSTANT_FEATURE], theirs[i][CONSTANT_FEATURE],
                    "sklearn row " + i + " is x - mean_");
            assertEquals(0.0, ours[i][CONSTANT_FEATURE], "our row " + i);
            assertClose(theirs[i][CONSTANT_FEATURE], ours[i][CONSTANT_FEATURE], TIGHT, 1.0, "row " + i);
        }
        // torch (eps 1e-5, gamma 3, beta 5): beta + gamma * (x - kernel mean) * invstd = 5 - 5.4e-11, which is the whole
        // of its difference from our beta + 0.
        double[][] torchOut = readTable("torch_batchnorm1d.csv", OUTPUTS);
        double predicted = statistic(torch, "beta")[CONSTANT_FEATURE] + statistic(torch, "gamma")[CONSTANT_FEATURE]
                * (CONSTANT - statistic(torch, "kernel_mean")[CONSTANT_FEATURE])
                * statistic(torch, "kernel_invstd")[CONSTANT_FEATURE];
        for (int i = 0; i < n; i++) {
            assertClose(predicted, torchOut[i][CONSTANT_FEATURE], TIGHT, 1.0, "torch row " + i);
        }
    }

    @Test
    void weightedPopulationStatisticsMatchSklearnSampleWeight() {
        Map<String, double[]> sklearn = readStatistics("sklearn_weighted.csv");
        BatchNormalizationModel model = new BatchNormalization().setInputCol("features").setOutputCol("y")
                .setWeightCol("w").fit(table);
        long positive = Arrays.stream(weights).filter(w -> w > 0).count();
        double weightSum = Arrays.stream(weights).sum();
        assertEquals(positive, model.count(), "rows of weight zero are not counted");
        for (int j = 0; j < FEATURES; j++) {
            assertEquals(statistic(sklearn, "n_samples_seen_")[j], model.statistics().weightSum()[j],
                    "sklearn's n_samples_seen_ is the weight sum");
            assertEquals(weightSum, model.statistics().weightSum()[j]);
            assertEquals(positive, model.statistics().count()[j]);
            assertRelative(statistic(sklearn, "mean_")[j], model.mean().apply(j), TIGHT, "weighted mean of feature " + j);
            assertRelative(statistic(sklearn, "var_")[j], model.variance().apply(j), TIGHT,
                    "weighted population variance of feature " + j);
        }
    }

    @Test
    void handleInvalidKeepMatchesSklearnsPerFeatureNanHandling() {
        Map<String, double[]> sklearn = readStatistics("sklearn_nan.csv");
        BatchNormalizationModel model = new BatchNormalization().setInputCols(INPUTS).setOutputCols(OUTPUTS)
                .setHandleInvalid("keep").setEpsilon(0.0).fit(tableWithNan);
        long[] count = model.statistics().count();
        for (int j = 0; j < FEATURES; j++) {
            int feature = j;
            long nonNan = Arrays.stream(inputWithNan).filter(row -> !Double.isNaN(row[feature])).count();
            assertTrue(nonNan < inputWithNan.length, "feature " + j + " has NaN values in the fixture");
            assertEquals((long) statistic(sklearn, "n_samples_seen_")[j], count[j], "values seen of feature " + j);
            assertEquals(nonNan, count[j]);
            assertRelative(statistic(sklearn, "mean_")[j], model.mean().apply(j), TIGHT, "mean of feature " + j);
            assertRelative(statistic(sklearn, "var_")[j], model.variance().apply(j), TIGHT, "variance of feature " + j);
        }
        assertEquals(inputWithNan.length, model.count(), "keep counts every row");
        assertOutputsMatch(readTable("sklearn_nan_standard_scaler.csv", OUTPUTS),
                scalarOutputs(model.transform(tableWithNan)), inputWithNan, model, statistic(sklearn, "mean_"),
                sklearnScale(sklearn), false, "sklearn StandardScaler with NaN");
    }
}
