package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
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

/**
 * Models of very wide sparse vectors store their touched features and a rule for the rest: the fit, the transform and
 * save/load at 2^21 features against BigDecimal references (with both summations), and at 2^28 features in a JVM of a
 * 1 GB heap.
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
        String metadata;
        try (Stream<Path> files = Files.list(directory.resolve("model").resolve("metadata"))) {
            Path part = files.filter(f -> f.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
            metadata = Files.readString(part);
        }
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
