package io.github.batchnorm;

import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * A 2^28-feature fit, transform and save/load, run by {@link WideSparseModelTest} in a JVM of its own with a small heap:
 * exits non-zero (with the failure) unless every check holds, and prints {@link #PASSED} when they all do.
 */
public final class WideSparseProcess {
    static final String PASSED = "wide sparse model: every check passed";
    private static final int DIMENSION = 1 << 28;
    private static final int ROWS = 10_000;

    private WideSparseProcess() {
    }

    public static void main(String[] args) throws java.io.IOException {
        SparkSession spark = SparkSession.builder().master("local[2]").appName("wide-sparse")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4").getOrCreate();
        try {
            run(spark, args[0]);
        } finally {
            spark.stop();
        }
    }

    private static void run(SparkSession spark, String directory) throws java.io.IOException {
        List<Row> data = WideSparseModelTest.rows(28, ROWS, 20, DIMENSION);
        BatchNormalizationModel model = new BatchNormalization().setInputCol("features").setOutputCol("normalized")
                .fit(WideSparseModelTest.frame(spark, data, 4));
        FeatureStatistics statistics = model.statistics();
        check(!statistics.storesEveryFeature(), "the statistics store only the touched features");
        check(model.numFeatures() == DIMENSION, "numFeatures " + model.numFeatures());
        TreeMap<Integer, BigDecimal[]> sums = WideSparseModelTest.exactSums(data);
        int[] stored = statistics.storedFeatures();
        check(Arrays.equals(sums.keySet().stream().mapToInt(Integer::intValue).toArray(), stored),
                "stored features are the touched ones: " + stored.length + " stored, " + sums.size() + " touched");
        double[] mean = statistics.storedMean();
        double[] variance = statistics.storedVariance(VarianceMode.POPULATION);
        int s = 0;
        for (var entry : sums.entrySet()) {
            double[] exact = WideSparseModelTest.exactMoments(entry.getValue(), ROWS);
            WideSparseModelTest.assertRelative(exact[0], mean[s], "mean of feature " + entry.getKey());
            WideSparseModelTest.assertRelative(exact[1], variance[s], "variance of feature " + entry.getKey());
            s++;
        }
        sums = null;

        // Scale only: every row keeps its entries, each multiplied by 1 / sqrt(variance + epsilon).
        List<Row> scaled = model.copy(new org.apache.spark.ml.param.ParamMap()).setCenter(false)
                .transform(WideSparseModelTest.frame(spark, data, 4)).select("features", "normalized").collectAsList();
        check(scaled.size() == ROWS, "transformed rows: " + scaled.size());
        long entries = 0;
        for (Row row : scaled) {
            SparseVector input = (SparseVector) row.get(0);
            Vector output = row.getAs(1);
            check(output instanceof SparseVector && output.size() == DIMENSION
                    && Arrays.equals(input.indices(), ((SparseVector) output).indices()), "a sparse output row");
            for (int k = 0; k < input.indices().length; k++) {
                int slot = Arrays.binarySearch(stored, input.indices()[k]);
                double expected = input.values()[k] / Math.sqrt(variance[slot] + 1e-5);
                double actual = ((SparseVector) output).values()[k];
                check(Math.abs(actual - expected) <= 1e-12 * Math.abs(expected), "normalised value " + actual
                        + " against " + expected);
                entries++;
            }
        }
        // Centred: a row gains the stored features whose 0 maps elsewhere, and nothing else.
        Vector centred = model.transform(WideSparseModelTest.frame(spark, data.subList(0, 1), 1))
                .select("normalized").first().getAs(0);
        check(centred instanceof SparseVector && centred.numActives() == stored.length,
                "a centred row lists the stored features: " + centred.numActives());

        String path = directory + "/model";
        model.save(path);
        BatchNormalizationModel loaded = BatchNormalizationModel.load(path);
        check(loaded.statistics().equals(statistics) && !loaded.statistics().storesEveryFeature()
                && Arrays.equals(loaded.statistics().storedFeatures(), stored), "the loaded model's statistics");
        System.out.printf(Locale.ROOT, "%s: %,d features, %,d stored, %,d entries checked, heap %,d MB%n", PASSED,
                DIMENSION, stored.length, entries, Runtime.getRuntime().maxMemory() >> 20);
    }

    private static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError("failed: " + what);
        }
    }
}
