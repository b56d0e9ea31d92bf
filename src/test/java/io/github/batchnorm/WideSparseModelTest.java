package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import io.github.batchnorm.testing.SparkTestSession;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Models of very wide sparse vectors store their touched features and a rule for the rest: the fit, the transform and
 * save/load at 2^21 features against BigDecimal references (with both summations), at 2^28 features in a JVM of a
 * 1 GB heap, and at {@code Integer.MAX_VALUE - 1} features, the widest vectors Spark allows, against moments worked out
 * by hand.
 */
@DisplayName("Wide sparse models (touched features stored, a rule for the rest)")
class WideSparseModelTest {
    @TempDir
    Path directory;

    /**
     * Seeded sparse rows: {@code nonZeros} features each, uniform over {@code dimension}, plus feature 5 in every other
     * row; values around 1e3 with a spread, some negative.
     */
    static List<Row> rows(long seed, int count, int nonZeros, int dimension) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Row> rows = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int[] indices = random.ints(nonZeros, 0, dimension).distinct().toArray();
            if (i % 2 == 0) {
                indices = Arrays.copyOf(indices, indices.length + 1);
                indices[indices.length - 1] = 5;
            }
            indices = Arrays.stream(indices).distinct().sorted().toArray();
            double[] values = new double[indices.length];
            for (int k = 0; k < values.length; k++) {
                values[k] = random.nextInt(4) == 0 ? -2.5 : 1e3 + random.nextInt(1000) / 64.0;
            }
            rows.add(RowFactory.create((long) i, Vectors.sparse(dimension, indices, values)));
        }
        return rows;
    }

    static Dataset<Row> frame(SparkSession spark, List<Row> rows, int partitions) {
        StructType schema = new StructType().add("id", "long").add("features", SQLDataTypes.VectorType());
        return spark.createDataFrame(rows, schema).repartition(partitions);
    }

    /** Per touched feature, the exact sums of its values and of their squares (zeros add nothing). */
    static TreeMap<Integer, BigDecimal[]> exactSums(List<Row> rows) {
        TreeMap<Integer, BigDecimal[]> sums = new TreeMap<>();
        for (Row row : rows) {
            SparseVector vector = (SparseVector) row.get(1);
            for (int k = 0; k < vector.indices().length; k++) {
                BigDecimal x = new BigDecimal(vector.values()[k]);
                BigDecimal[] s = sums.computeIfAbsent(vector.indices()[k], j -> new BigDecimal[] {BigDecimal.ZERO,
                    BigDecimal.ZERO});
                s[0] = s[0].add(x);
                s[1] = s[1].add(x.multiply(x));
            }
        }
        return sums;
    }

    /** The exact mean and population variance of a feature with sums {@code s} over {@code n} rows. */
    static double[] exactMoments(BigDecimal[] s, long n) {
        MathContext context = new MathContext(60);
        BigDecimal rows = BigDecimal.valueOf(n);
        BigDecimal mean = s[0].divide(rows, context);
        BigDecimal variance = s[1].divide(rows, context).subtract(mean.multiply(mean, context), context);
        return new double[] {mean.doubleValue(), variance.doubleValue()};
    }

    static void assertRelative(double expected, double actual, String what) {
        double error = Math.abs(actual - expected);
        assertTrue(error <= 1e-12 * Math.abs(expected), what + ": expected " + expected + " but was " + actual);
    }

    @Test
    void aFitOfTwoToTheTwentyOneFeaturesStoresTheTouchedOnesWithExactMomentsAndTransformsSparse() throws IOException {
        int dimension = (1 << 21) + 7;
        List<Row> data = rows(21, 600, 20, dimension);
        BatchNormalizationModel model = new BatchNormalization().setInputCol("features").setOutputCol("normalized")
                .fit(frame(SparkTestSession.get(), data, 3));
        FeatureStatistics statistics = model.statistics();
        TreeMap<Integer, BigDecimal[]> sums = exactSums(data);
        assertFalse(statistics.storesEveryFeature());
        assertEquals(dimension, model.numFeatures());
        assertArrayEquals(sums.keySet().stream().mapToInt(Integer::intValue).toArray(), statistics.storedFeatures());
        assertEquals(600.0, statistics.implicitWeightSum());
        double[] mean = statistics.storedMean();
        double[] variance = statistics.storedVariance(VarianceMode.POPULATION);
        int s = 0;
        for (var entry : sums.entrySet()) {
            double[] exact = exactMoments(entry.getValue(), 600);
            assertRelative(exact[0], mean[s], "mean of feature " + entry.getKey());
            assertRelative(exact[1], variance[s], "variance of feature " + entry.getKey());
            s++;
        }
        assertInstanceOf(SparseVector.class, model.mean());
        assertEquals(0.0, model.mean().apply(firstUntouched(statistics.storedFeatures())));

        // Centred: each row keeps its entries and gains the stored features whose 0 maps elsewhere (a non-zero mean).
        Row first = model.transform(frame(SparkTestSession.get(), data.subList(0, 1), 1)).select("features",
                "normalized").first();
        SparseVector input = (SparseVector) first.get(0);
        Vector output = first.getAs(1);
        assertInstanceOf(SparseVector.class, output);
        assertEquals(statistics.storedFeatureCount(), output.numActives(), "every touched feature has a non-zero mean");
        for (int k = 0; k < input.indices().length; k++) {
            int j = input.indices()[k];
            int slot = Arrays.binarySearch(statistics.storedFeatures(), j);
            double expected = (input.values()[k] - mean[slot]) / Math.sqrt(variance[slot] + 1e-5);
            assertEquals(expected, output.apply(j), 1e-12 * Math.max(1.0, Math.abs(expected)), "normalised " + j);
        }
        assertEquals(0.0, output.apply(firstUntouched(statistics.storedFeatures())), "an untouched feature stays 0");

        // Scale only: the output has exactly the input's entries.
        Vector scaled = model.copy(new org.apache.spark.ml.param.ParamMap()).setCenter(false)
                .transform(frame(SparkTestSession.get(), data.subList(0, 1), 1)).select("normalized").first().getAs(0);
        assertArrayEquals(input.indices(), ((SparseVector) scaled).indices());

        // Saved in format version 3 (touched features and the rule), loaded back equal.
        String path = directory.resolve("model").toString();
        model.save(path);
        String metadata = metadata(directory.resolve("model"));
        assertTrue(metadata.contains("\"formatVersion\":3"), metadata);
        BatchNormalizationModel loaded = BatchNormalizationModel.load(path);
        assertFalse(loaded.statistics().storesEveryFeature());
        assertEquals(statistics, loaded.statistics());
        assertArrayEquals(statistics.storedFeatures(), loaded.statistics().storedFeatures());
        assertEquals(statistics.implicitWeightSum(), loaded.statistics().implicitWeightSum());

        // An update with more rows merges per touched feature and stays stored.
        List<Row> more = rows(22, 300, 20, dimension);
        BatchNormalizationModel updated = model.update(frame(SparkTestSession.get(), more, 2));
        List<Row> union = new ArrayList<>(data);
        union.addAll(more);
        TreeMap<Integer, BigDecimal[]> unionSums = exactSums(union);
        assertArrayEquals(unionSums.keySet().stream().mapToInt(Integer::intValue).toArray(),
                updated.statistics().storedFeatures());
        double[] updatedMean = updated.statistics().storedMean();
        double[] updatedVariance = updated.statistics().storedVariance(VarianceMode.POPULATION);
        s = 0;
        for (var entry : unionSums.entrySet()) {
            double[] exact = exactMoments(entry.getValue(), 900);
            assertRelative(exact[0], updatedMean[s], "updated mean of feature " + entry.getKey());
            assertRelative(exact[1], updatedVariance[s], "updated variance of feature " + entry.getKey());
            s++;
        }
    }

    @Test
    void anExactFitOfTwoToTheTwentyOneFeaturesStoresTheTouchedOnesCorrectlyRoundedAndAgreesWithTheFastFit() {
        int dimension = (1 << 21) + 7;
        List<Row> data = rows(23, 600, 20, dimension);
        Dataset<Row> frame = frame(SparkTestSession.get(), data, 3);
        FeatureStatistics exact = new BatchNormalization().setInputCol("features").setSummation("exact").fit(frame)
                .statistics();
        FeatureStatistics fast = new BatchNormalization().setInputCol("features").setSummation("fast").fit(frame)
                .statistics();
        TreeMap<Integer, BigDecimal[]> sums = exactSums(data);
        int[] touched = sums.keySet().stream().mapToInt(Integer::intValue).toArray();
        assertFalse(exact.storesEveryFeature(), "each task's exact summary held only the features it touched");
        assertTrue(exact.isExact());
        assertEquals(dimension, exact.numFeatures());
        assertArrayEquals(touched, exact.storedFeatures());
        assertArrayEquals(fast.storedFeatures(), exact.storedFeatures());
        assertEquals(600.0, exact.implicitWeightSum());
        assertEquals(600.0, exact.implicitWeightSquareSum());
        double[] mean = exact.storedMean();
        double[] variance = exact.storedVariance(VarianceMode.POPULATION);
        double[] fastMean = fast.storedMean();
        double[] fastVariance = fast.storedVariance(VarianceMode.POPULATION);
        int s = 0;
        for (var entry : sums.entrySet()) {
            // The exact sums are rounded once: the very doubles of the 60-digit BigDecimal moments.
            double[] reference = exactMoments(entry.getValue(), 600);
            assertEquals(reference[0], mean[s], "mean of feature " + entry.getKey());
            assertEquals(reference[1], variance[s], "variance of feature " + entry.getKey());
            assertRelative(mean[s], fastMean[s], "fast mean of feature " + entry.getKey());
            assertRelative(variance[s], fastVariance[s], "fast variance of feature " + entry.getKey());
            s++;
        }
        assertArrayEquals(exact.storedCount(), fast.storedCount());
        // Exact means the same bits however the rows are split: one partition gives this very statistics.
        FeatureStatistics onePartition = new BatchNormalization().setInputCol("features").setSummation("exact")
                .fit(frame(SparkTestSession.get(), data, 1)).statistics();
        assertEquals(exact, onePartition);
    }

    /** The widest vectors Spark allows: {@code Integer.MAX_VALUE - 1} features, the last one {@code Integer.MAX_VALUE - 2}. */
    static final int WIDEST = Integer.MAX_VALUE - 1;
    static final int LAST = WIDEST - 1;
    /** The features the widest rows touch, and their moments worked out by hand from {@link #widestRows}. */
    static final int[] WIDEST_TOUCHED = {0, 12_345, LAST};
    static final double[] WIDEST_MEAN = {1.5, -0.375, 3.0};
    static final double[] WIDEST_VARIANCE = {2.75, 0.421875, 11.0};

    /**
     * Four rows of the widest vectors: feature 0 is 2, 4, 0, 0 (mean 1.5, population variance 20 / 4 - 1.5^2 = 2.75),
     * 12,345 is -1.5, 0, 0, 0 (mean -0.375, variance 0.5625 - 0.140625 = 0.421875), the last feature is 8, 0, 4, 0 (mean
     * 3, variance 20 - 9 = 11), and the fourth row is empty.
     */
    static List<Row> widestRows() {
        return List.of(
                RowFactory.create(0L, Vectors.sparse(WIDEST, new int[] {0, LAST}, new double[] {2.0, 8.0})),
                RowFactory.create(1L, Vectors.sparse(WIDEST, new int[] {0, 12_345}, new double[] {4.0, -1.5})),
                RowFactory.create(2L, Vectors.sparse(WIDEST, new int[] {LAST}, new double[] {4.0})),
                RowFactory.create(3L, Vectors.sparse(WIDEST, new int[0], new double[0])));
    }

    /** {@code (x - mean) / sqrt(variance + 1e-5)} (or {@code x / sqrt(...)} without centering) in 40 digits. */
    static double normalised(double x, double mean, double variance, boolean center) {
        MathContext context = new MathContext(40);
        BigDecimal root = new BigDecimal(variance).add(new BigDecimal(1e-5)).sqrt(context);
        BigDecimal shifted = new BigDecimal(x).subtract(center ? new BigDecimal(mean) : BigDecimal.ZERO);
        return shifted.divide(root, context).doubleValue();
    }

    @ParameterizedTest(name = "summation={0}")
    @ValueSource(strings = {"fast", "exact"})
    void theWidestVectorsSparkAllowsFitTransformInvertSaveAndLoadWithTheirTouchedFeaturesOnly(String summation)
            throws IOException {
        List<Row> data = widestRows();
        BatchNormalizationModel model = new BatchNormalization().setInputCol("features").setOutputCol("normalized")
                .setSummation(summation).fit(frame(SparkTestSession.get(), data, 2));
        FeatureStatistics statistics = model.statistics();
        assertEquals(WIDEST, model.numFeatures());
        assertFalse(statistics.storesEveryFeature());
        assertArrayEquals(WIDEST_TOUCHED, statistics.storedFeatures());
        assertArrayEquals(new long[] {4, 4, 4}, statistics.storedCount());
        assertEquals(4, statistics.rowCount());
        assertEquals(4.0, statistics.implicitWeightSum());
        double[] mean = statistics.storedMean();
        double[] variance = statistics.storedVariance(VarianceMode.POPULATION);
        for (int s = 0; s < WIDEST_TOUCHED.length; s++) {
            if (summation.equals("exact")) {
                assertEquals(WIDEST_MEAN[s], mean[s], "exact mean of feature " + WIDEST_TOUCHED[s]);
                assertEquals(WIDEST_VARIANCE[s], variance[s], "exact variance of feature " + WIDEST_TOUCHED[s]);
            } else {
                assertRelative(WIDEST_MEAN[s], mean[s], "mean of feature " + WIDEST_TOUCHED[s]);
                assertRelative(WIDEST_VARIANCE[s], variance[s], "variance of feature " + WIDEST_TOUCHED[s]);
            }
        }
        SparseVector meanVector = (SparseVector) model.mean();
        assertEquals(WIDEST, meanVector.size());
        assertArrayEquals(WIDEST_TOUCHED, meanVector.indices());

        // An array of every feature cannot exist: each dense accessor says so, rather than failing inside the JVM.
        for (var accessor : List.<java.util.function.Supplier<Object>>of(statistics::mean, statistics::count,
                model::gammaValues, model::betaValues, () -> model.coefficients().scale())) {
            IllegalStateException refused = assertThrows(IllegalStateException.class, accessor::get);
            assertTrue(refused.getMessage().contains(" of all 2,147,483,646 features: that needs ")
                    && refused.getMessage().contains("longer than a Java array can be"), refused.getMessage());
        }

        // Centred: each row keeps its entries and gains the touched features it lacks (their means are not 0).
        Dataset<Row> frame = frame(SparkTestSession.get(), data, 2);
        List<Row> centred = model.transform(frame).orderBy("id").select("features", "normalized").collectAsList();
        List<Row> scaled = model.copy(new org.apache.spark.ml.param.ParamMap()).setCenter(false).transform(frame)
                .orderBy("id").select("features", "normalized").collectAsList();
        for (int r = 0; r < data.size(); r++) {
            SparseVector input = (SparseVector) centred.get(r).get(0);
            SparseVector output = (SparseVector) centred.get(r).<Vector>getAs(1);
            assertEquals(WIDEST, output.size());
            assertArrayEquals(WIDEST_TOUCHED, output.indices(), "row " + r);
            for (int s = 0; s < WIDEST_TOUCHED.length; s++) {
                double x = input.apply(WIDEST_TOUCHED[s]);
                assertRelative(normalised(x, WIDEST_MEAN[s], WIDEST_VARIANCE[s], true), output.values()[s],
                        "row " + r + ", feature " + WIDEST_TOUCHED[s]);
            }
            SparseVector scaledOutput = (SparseVector) scaled.get(r).<Vector>getAs(1);
            assertEquals(WIDEST, scaledOutput.size());
            assertArrayEquals(input.indices(), scaledOutput.indices(), "scale only: the row's own entries");
            for (int k = 0; k < input.indices().length; k++) {
                int s = Arrays.binarySearch(WIDEST_TOUCHED, input.indices()[k]);
                assertRelative(normalised(input.values()[k], 0.0, WIDEST_VARIANCE[s], false), scaledOutput.values()[k],
                        "scale only, row " + r + ", feature " + input.indices()[k]);
            }
        }

        // Inverted, the centred rows come back: the touched features to their values (0 where the row had none).
        List<Row> restored = model.inverseTransform(model.transform(frame).drop("features")).orderBy("id")
                .select("features").collectAsList();
        for (int r = 0; r < data.size(); r++) {
            SparseVector back = (SparseVector) restored.get(r).<Vector>getAs(0);
            SparseVector input = (SparseVector) data.get(r).get(1);
            assertEquals(WIDEST, back.size());
            assertArrayEquals(WIDEST_TOUCHED, back.indices());
            for (int s = 0; s < WIDEST_TOUCHED.length; s++) {
                double x = input.apply(WIDEST_TOUCHED[s]);
                double bound = 1e-12 * Math.max(Math.abs(x), Math.abs(WIDEST_MEAN[s]));
                assertEquals(x, back.values()[s], bound, "restored row " + r + ", feature " + WIDEST_TOUCHED[s]);
            }
        }

        String path = directory.resolve("widest").toString();
        model.save(path);
        assertTrue(metadata(directory.resolve("widest")).contains("\"formatVersion\":3"));
        BatchNormalizationModel loaded = BatchNormalizationModel.load(path);
        assertEquals(WIDEST, loaded.numFeatures());
        assertArrayEquals(WIDEST_TOUCHED, loaded.statistics().storedFeatures());
        assertEquals(statistics, loaded.statistics());
    }

    /** The saved model's params metadata. */
    static String metadata(Path model) throws IOException {
        try (Stream<Path> files = Files.list(model.resolve("metadata"))) {
            Path part = files.filter(f -> f.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
            return Files.readString(part);
        }
    }

    static int firstUntouched(int[] stored) {
        for (int j = 0; ; j++) {
            if (Arrays.binarySearch(stored, j) < 0) {
                return j;
            }
        }
    }

    @Test
    void aFitTransformAndSaveLoadOfTwoToTheTwentyEightFeaturesRunInAOneGigabyteHeap() throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "-Xmx1g", "-XX:-UsePerfData"));
        // Spark's --add-opens flags and the test JVMs' compiler and collector, as this JVM has them; not its heap.
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(flag -> flag.startsWith("--add-opens") || flag.startsWith("-Dio.netty") || flag.startsWith("-XX:"))
                .forEach(command::add);
        command.addAll(List.of("-cp", classPath, WideSparseProcess.class.getName(),
                directory.resolve("wide").toString()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        int exit = process.waitFor();
        assertEquals(0, exit, output);
        assertTrue(output.contains(WideSparseProcess.PASSED), output);
        output.lines().filter(line -> line.contains(WideSparseProcess.PASSED)).forEach(System.out::println);
    }
}
