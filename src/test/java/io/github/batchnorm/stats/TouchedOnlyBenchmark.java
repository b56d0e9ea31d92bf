package io.github.batchnorm.stats;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Where the fast summary's touched-only form should give way to the dense one: a task's work (fold its sparse rows, then
 * serialise the summary, as Spark ships it) in either form, for rows of 20 non-zeros spread uniformly over 2^20
 * features, as many rows as touch the given share of them. Run with
 * {@code java -cp target/test-classes:target/classes:<test classpath> org.openjdk.jmh.Main TouchedOnlyBenchmark}.
 * Scores are milliseconds per task.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = "-Xmx2g")
public class TouchedOnlyBenchmark {
    private static final int DIMENSION = 1 << 20;
    private static final int STORED = 20;

    /** The share of the features the task's rows touch. */
    @Param({"0.02", "0.1", "0.25", "0.5"})
    double touchedShare;

    /**
     * {@code touched}: the touched-only form throughout; {@code dense}: the dense form from the first row;
     * {@code default}: the switch a fit uses.
     */
    @Param({"touched", "dense", "default"})
    String form;

    int[][] indices;
    double[][] values;

    @Setup
    public void generate() {
        // Uniform indices touch D * (1 - exp(-20 R / D)) features after R rows.
        int rows = (int) Math.ceil(-Math.log(1 - touchedShare) * DIMENSION / STORED);
        SplittableRandom random = new SplittableRandom(11);
        indices = new int[rows][];
        values = new double[rows][];
        for (int i = 0; i < rows; i++) {
            indices[i] = random.ints(0, DIMENSION).distinct().limit(STORED).sorted().toArray();
            values[i] = random.doubles(STORED, 1, 8).toArray();
        }
    }

    @Benchmark
    public int foldAndSerialise() throws IOException {
        FastFeatureSummary summary = form.equals("default") ? new FastFeatureSummary()
                : FastFeatureSummary.withDenseShare(form.equals("touched") ? 1.0 : 0.0);
        for (int i = 0; i < indices.length; i++) {
            summary.addSparse(DIMENSION, indices[i], values[i], STORED, 1.0);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(summary);
        }
        return bytes.size();
    }
}
