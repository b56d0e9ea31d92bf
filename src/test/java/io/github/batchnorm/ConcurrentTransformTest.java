package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.SparkTestSession;
import io.github.batchnorm.testing.Tolerance;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** A model is a value: copies of one model transform from many threads at once, each with its own params. */
@DisplayName("A model used from several threads")
class ConcurrentTransformTest {
    private static final int THREADS = 8;
    private static final double[] MEAN = {10.0, -3.0, 0.5};
    private static final double[] VARIANCE = {4.0, 0.25, 9.0};

    @Test
    void eightThreadsTransformingWithCopiesUnderDifferentParamsEachGetTheirOwnNumbers() throws Exception {
        double[][] rows = Data.dense(20_251_125L, 200, MEAN.length);
        BatchNormalizationModel shared = BatchNormalizationModel.fromStatistics(MEAN, VARIANCE, new double[0],
                new double[0], 1e-5).setInputCol("features").setOutputCol("normalized");
        SparkTestSession.get();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                results.add(pool.submit((Callable<Integer>) () -> transformAndCheck(shared, rows, thread)));
            }
            for (int t = 0; t < THREADS; t++) {
                assertEquals(rows.length * MEAN.length, results.get(t).get(), "values checked by thread " + t);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void eightThreadsLoadingOneSavedModelAndTransformingWithItEachGetTheRightNumbers(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path directory) throws Exception {
        double[][] rows = Data.dense(20_251_126L, 200, MEAN.length);
        String path = directory.resolve("model").toString();
        BatchNormalizationModel.fromStatistics(MEAN, VARIANCE, new double[0], new double[0], 1e-5)
                .setInputCol("features").setOutputCol("normalized").write().save(path);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                results.add(pool.submit((Callable<Integer>) () -> {
                    go.await();
                    return transformAndCheck(BatchNormalizationModel.load(path), rows, thread);
                }));
            }
            go.countDown();
            for (int t = 0; t < THREADS; t++) {
                assertEquals(rows.length * MEAN.length, results.get(t).get(), "values checked by thread " + t);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Each thread has its own epsilon, gamma, beta and (for odd threads) sparse input, and checks every value. */
    private static int transformAndCheck(BatchNormalizationModel shared, double[][] rows, int thread) {
        double epsilon = Math.pow(10, -thread);
        double[] gamma = {1.0 + thread, 2.0, 0.5 * thread};
        double[] beta = {-thread, thread * 0.25, 7.0};
        BatchNormalizationModel model = shared.copy(new org.apache.spark.ml.param.ParamMap()).setEpsilon(epsilon)
                .setGamma(gamma).setBeta(beta);
        List<Row> output = model.transform(SparkTestSession.vectors(rows, thread % 2 == 1, 3)).select("id", "normalized")
                .collectAsList();
        int checked = 0;
        for (Row row : output) {
            double[] x = rows[(int) row.getLong(0)];
            Vector y = (Vector) row.get(1);
            for (int j = 0; j < x.length; j++) {
                double expected = gamma[j] * (x[j] - MEAN[j]) / Math.sqrt(VARIANCE[j] + epsilon) + beta[j];
                Tolerance.assertClose(expected, y.apply(j), 1e-13, 1.0, "thread " + thread + ", row " + row.getLong(0)
                        + ", feature " + j);
                checked++;
            }
        }
        return checked;
    }
}
