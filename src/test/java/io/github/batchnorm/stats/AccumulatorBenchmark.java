package io.github.batchnorm.stats;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The accumulators' inner loops without Spark: rows already in arrays, folded into a new summary per invocation. Data as
 * in {@code jobs/benchmark}: dense rows {@code (j % 10) * 100 + (1 + j % 5) * u}, sparse rows of values {@code 1 + j % 7 + u}.
 * Run with
 * {@code java -cp target/test-classes:target/classes:<test classpath> org.openjdk.jmh.Main AccumulatorBenchmark}.
 * Scores are nanoseconds per row.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AccumulatorBenchmark {
    private static final int ROWS = 4096;

    /** Features of the dense rows; the sparse rows are the same whatever it is (10,000 features, 100 stored per row). */
    @Param({"10", "100", "1000"})
    int features;

    double[][] dense;
    int[][] sparseIndices;
    double[][] sparseValues;
    static final int SPARSE_SIZE = 10_000;

    @Setup
    public void generate() {
        SplittableRandom random = new SplittableRandom(7);
        dense = new double[ROWS][features];
        for (double[] row : dense) {
            for (int j = 0; j < features; j++) {
                row[j] = (j % 10) * 100 + (1 + j % 5) * random.nextDouble();
            }
        }
        sparseIndices = new int[ROWS][];
        sparseValues = new double[ROWS][];
        for (int i = 0; i < ROWS; i++) {
            sparseIndices[i] = random.ints(0, SPARSE_SIZE).distinct().limit(100).sorted().toArray();
            sparseValues[i] = new double[100];
            for (int k = 0; k < 100; k++) {
                sparseValues[i][k] = 1 + sparseIndices[i][k] % 7 + random.nextDouble();
            }
        }
    }

    private FeatureAccumulator dense(FeatureAccumulator summary) {
        for (double[] row : dense) {
            summary.add(row, 1.0);
        }
        return summary;
    }

    private FeatureAccumulator sparse(FeatureAccumulator summary) {
        for (int i = 0; i < ROWS; i++) {
            summary.addSparse(SPARSE_SIZE, sparseIndices[i], sparseValues[i], 100, 1.0);
        }
        return summary;
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public FeatureAccumulator denseFast() {
        return dense(new FastFeatureSummary());
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public FeatureAccumulator denseExactBlocks() {
        return dense(new ExactFeatureSummary());
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    @Fork(value = 1, jvmArgsAppend = "-Dbatchnorm.hardwareFma=false")
    public FeatureAccumulator denseExactBlocksDekker() {
        return dense(new ExactFeatureSummary());
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public FeatureAccumulator denseExactPerValue() {
        return dense(new PerValueExactSummary());
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public FeatureAccumulator sparseFast() {
        return sparse(new FastFeatureSummary());
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public FeatureAccumulator sparseExactBlocks() {
        return sparse(new ExactFeatureSummary());
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public FeatureAccumulator sparseExactPerValue() {
        return sparse(new PerValueExactSummary());
    }
}
