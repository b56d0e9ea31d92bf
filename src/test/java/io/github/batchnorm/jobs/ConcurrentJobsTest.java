package io.github.batchnorm.jobs;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs that run at once in one Spark session: writers of one path end with one complete result, readers of one model
 * all get the right numbers, and a dead writer's leftovers are removed by the next job that writes there.
 */
@DisplayName("Jobs running at the same time")
class ConcurrentJobsTest {
    private static final int ROWS = 300;
    private static SparkSession spark;
    private static Dataset<Row> data;
    private static double mean;
    private static double variance;

    @TempDir
    Path directory;

    private ExecutorService pool;
    private String input;

    @BeforeAll
    static void makeData() {
        spark = SparkTestSession.get();
        List<Row> rows = new ArrayList<>();
        double[][] values = Data.dense(12, ROWS, 1);
        for (int r = 0; r < ROWS; r++) {
            rows.add(RowFactory.create((long) r, values[r][0]));
        }
        data = spark.createDataFrame(rows, new StructType().add("id", DataTypes.LongType).add("x", DataTypes.DoubleType));
        // The reference statistics come from Spark SQL's own aggregates, not from the code under test.
        Row moments = data.agg(functions.avg("x"), functions.var_pop("x")).head();
        mean = moments.getDouble(0);
        variance = moments.getDouble(1);
    }

    @BeforeEach
    void start() {
        pool = Executors.newFixedThreadPool(8);
        input = directory.resolve("input.parquet").toString();
        data.write().parquet(input);
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    private String path(String name) {
        return directory.resolve(name).toString();
    }

    /** Runs the commands at once (released together) and returns their runs in order. */
    private List<JobRun> together(List<String[]> commands) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<JobRun>> futures = new ArrayList<>();
        for (String[] command : commands) {
            futures.add(pool.submit((Callable<JobRun>) () -> {
                go.await();
                return JobRun.of(command);
            }));
        }
        go.countDown();
        List<JobRun> runs = new ArrayList<>();
        for (Future<JobRun> future : futures) {
            runs.add(future.get());
        }
        return runs;
    }

    /** The beta the whole output was written with, after checking every row against it. */
    private double assertOneCompleteOutput(String output) {
        List<Row> rows = spark.read().parquet(output).collectAsList();
        assertEquals(ROWS, rows.size(), "rows of one complete output");
        Row first = rows.get(0);
        double beta = Math.round(first.getDouble(first.fieldIndex("x_bn"))
                - (first.getDouble(first.fieldIndex("x")) - mean) / Math.sqrt(variance + 1e-5));
        for (Row row : rows) {
            double x = row.getDouble(row.fieldIndex("x"));
            assertClose((x - mean) / Math.sqrt(variance + 1e-5) + beta, row.getDouble(row.fieldIndex("x_bn")), 1e-9, 1,
                    "row " + row.getLong(0) + " with the beta of the whole output");
        }
        return beta;
    }

    private String[] fitTransform(String output, int beta, boolean overwrite) {
        List<String> args = new ArrayList<>(List.of("fit-transform", "--input", input, "--input-cols", "x", "--beta",
                Integer.toString(beta), "--output", output));
        if (overwrite) {
            args.add("--overwrite");
        }
        return args.toArray(new String[0]);
    }

    @Test
    void twoJobsWritingOneOutputEndWithOneCompleteOutput() throws Exception {
        List<JobRun> replacing = together(List.of(fitTransform(path("out.parquet"), 0, true),
                fitTransform(path("out.parquet"), 100, true)));
        for (JobRun run : replacing) {
            assertEquals(0, run.exitCode(), run.err());
        }
        double beta = assertOneCompleteOutput(path("out.parquet"));
        assertTrue(beta == 0 || beta == 100, "beta " + beta);

        List<JobRun> notReplacing = together(List.of(fitTransform(path("new.parquet"), 0, false),
                fitTransform(path("new.parquet"), 100, false)));
        JobRun winner = notReplacing.get(0).exitCode() == 0 ? notReplacing.get(0) : notReplacing.get(1);
        JobRun loser = winner == notReplacing.get(0) ? notReplacing.get(1) : notReplacing.get(0);
        assertEquals(0, winner.exitCode(), winner.err());
        assertEquals(2, loser.exitCode(), loser.err());
        assertTrue(loser.err().contains("'" + path("new.parquet") + "'") && loser.err().contains("overwrite"),
                loser.err());
        assertOneCompleteOutput(path("new.parquet"));
        try (var siblings = Files.list(directory)) {
            assertEquals(List.of("input.parquet", "new.parquet", "out.parquet"),
                    siblings.map(file -> file.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void twoJobsWritingOneModelEndWithOneCompleteModel() throws Exception {
        List<JobRun> runs = together(List.of(
                new String[] {"fit", "--input", input, "--input-cols", "x", "--epsilon", "0.5", "--model", path("m"),
                    "--overwrite"},
                new String[] {"fit", "--input", input, "--input-cols", "x", "--epsilon", "0.25", "--model", path("m"),
                    "--overwrite"}));
        for (JobRun run : runs) {
            assertEquals(0, run.exitCode(), run.err());
        }
        BatchNormalizationModel model = BatchNormalizationModel.load(path("m"));
        assertTrue(model.getEpsilon() == 0.5 || model.getEpsilon() == 0.25, "epsilon " + model.getEpsilon());
        assertEquals(ROWS, model.count());
        assertClose(mean, model.mean().apply(0), 1e-12, 1, "mean");
    }

    @Test
    void eightTransformJobsWithOneModelEachGetTheRightNumbers() throws Exception {
        assertEquals(0, JobRun.of("fit", "--input", input, "--input-cols", "x", "--model", path("m")).exitCode());
        List<String[]> commands = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            commands.add(new String[] {"transform", "--model", path("m"), "--input", input, "--output",
                path("out" + t + ".parquet")});
        }
        List<JobRun> runs = together(commands);
        for (int t = 0; t < 8; t++) {
            assertEquals(0, runs.get(t).exitCode(), runs.get(t).err());
            assertEquals(0.0, assertOneCompleteOutput(path("out" + t + ".parquet")), "thread " + t);
        }
    }

    @Test
    void aDeadWritersLeftoverIsRemovedByTheNextJobAndReported() throws Exception {
        Process finished = new ProcessBuilder("sleep", "0.2").start();
        String started = finished.toHandle().info().startInstant().orElseThrow().toString();
        finished.waitFor();
        Path leftover = directory.resolve(".out.parquet.tmp-0f0f");
        Files.createDirectories(leftover.resolve("content"));
        Files.writeString(leftover.resolve("writer"), "host=" + java.net.InetAddress.getLocalHost().getHostName()
                + "\npid=" + finished.pid() + "\nstart=" + started + "\n");
        JobRun run = JobRun.of(fitTransform(path("out.parquet"), 0, false));
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.err().contains("Removed '") && run.err().contains(".out.parquet.tmp-0f0f"), run.err());
        assertTrue(!Files.exists(leftover), "the leftover is gone");
    }
}
