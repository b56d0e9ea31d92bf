package io.github.batchnorm;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.SparkLineTesting;
import io.github.batchnorm.testing.SparkLineTesting.RowStream;
import io.github.batchnorm.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryException;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Structured Streaming: transform a stream, keep a model current with foreachBatch")
class StreamingTest {
    private static final double TIGHT = 1e-12;
    private static final StructType SCHEMA = new StructType().add("id", DataTypes.LongType).add("a", DataTypes.DoubleType)
            .add("b", DataTypes.DoubleType).add("features", SQLDataTypes.VectorType());
    private static final int BATCH_ROWS = 120;

    private static SparkSession spark;
    /** Five micro-batches of rows: id, a, b, and the vector (a, b). */
    private static List<List<Row>> batches;

    @TempDir
    Path directory;

    @BeforeAll
    static void makeBatches() {
        spark = SparkTestSession.get();
        double[][] values = Data.dense(141, 5 * BATCH_ROWS, 2);
        batches = new ArrayList<>();
        for (int k = 0; k < 5; k++) {
            List<Row> batch = new ArrayList<>();
            for (int i = k * BATCH_ROWS; i < (k + 1) * BATCH_ROWS; i++) {
                batch.add(RowFactory.create((long) i, values[i][0], values[i][1], Vectors.dense(values[i])));
            }
            batches.add(batch);
        }
    }

    private static RowStream memoryStream() {
        return SparkLineTesting.rowStream(spark, SCHEMA);
    }

    private static void add(RowStream stream, List<Row> rows) {
        stream.addData(rows);
    }

    /** The first {@code k} batches as one static table. */
    private static Dataset<Row> union(int k) {
        List<Row> rows = batches.subList(0, k).stream().flatMap(List::stream).collect(Collectors.toList());
        return spark.createDataFrame(rows, SCHEMA).repartition(2);
    }

    private static Dataset<Row> batch(int k) {
        return spark.createDataFrame(batches.get(k), SCHEMA).repartition(2);
    }

    private static BatchNormalization estimator() {
        return new BatchNormalization().setInputCols("a", "b").setOutputCols("a_bn", "b_bn");
    }

    private static void assertSameStatistics(FeatureStatistics expected, FeatureStatistics actual, String what) {
        assertEquals(expected.isExact(), actual.isExact(), what + ": kind of statistics");
        assertEquals(expected.rowCount(), actual.rowCount(), what + ": rowCount");
        assertArrayEquals(expected.count(), actual.count(), what + ": counts");
        VarianceMode mode = expected.storedVarianceMode();
        for (int j = 0; j < expected.numFeatures(); j++) {
            double spread = Math.sqrt(expected.variance(mode)[j]);
            assertClose(expected.mean()[j], actual.mean()[j], TIGHT, spread, what + ": mean " + j);
            assertRelative(expected.variance(mode)[j], actual.variance(mode)[j], TIGHT, what + ": variance " + j);
        }
    }

    private List<String> siblings() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(file -> file.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    private String path(String name) {
        return directory.resolve(name).toString();
    }

    @Test
    void transformWorksOnAStreamingDataFrame() throws Exception {
        BatchNormalizationModel columns = estimator().fit(union(2));
        BatchNormalizationModel vectors = new BatchNormalization().setOutputCol("v_bn").fit(union(2));
        RowStream stream = memoryStream();
        Dataset<Row> scored = vectors.transform(columns.transform(stream.toDF()));
        assertTrue(scored.isStreaming());
        StreamingQuery query = scored.writeStream().format("memory").queryName("scored_stream").outputMode("append")
                .option("checkpointLocation", path("checkpoint")).start();
        try {
            for (int k = 0; k < 3; k++) {
                add(stream, batches.get(k));
                query.processAllAvailable();
            }
        } finally {
            query.stop();
        }
        List<Row> streamed = spark.table("scored_stream").orderBy("id").collectAsList();
        List<Row> expected = vectors.transform(columns.transform(union(3))).orderBy("id").collectAsList();
        assertEquals(3 * BATCH_ROWS, streamed.size());
        for (int r = 0; r < expected.size(); r++) {
            Row want = expected.get(r);
            Row got = streamed.get(r);
            assertEquals(want.getLong(0), got.getLong(0));
            assertEquals(want.getDouble(want.fieldIndex("a_bn")), got.getDouble(got.fieldIndex("a_bn")), "row " + r);
            assertEquals(want.getDouble(want.fieldIndex("b_bn")), got.getDouble(got.fieldIndex("b_bn")), "row " + r);
            assertEquals(want.<Vector>getAs("v_bn"), got.<Vector>getAs("v_bn"), "row " + r);
        }
    }

    @ParameterizedTest(name = "momentum={0}")
    @ValueSource(doubles = {-1, 0.7})
    void foreachBatchSavesAModelEqualToTheSameUpdatesAfterEveryMicroBatch(double momentum) throws Exception {
        BatchNormalization estimator = estimator();
        if (momentum >= 0) {
            estimator.setMomentum(momentum);
        }
        RunningModel running = RunningModel.resume(path("model"), estimator);
        assertTrue(running.current().isEmpty());
        RowStream stream = memoryStream();
        StreamingQuery query = stream.toDF().writeStream().foreachBatch(running)
                .option("checkpointLocation", path("checkpoint")).start();
        try {
            BatchNormalizationModel expected = null;
            for (int k = 0; k < 3; k++) {
                add(stream, batches.get(k));
                query.processAllAvailable();
                // Without momentum: a fit on every batch so far. With momentum: the fit of the first, updated batch by batch.
                expected = momentum < 0 ? estimator.fit(union(k + 1))
                        : k == 0 ? estimator.fit(batch(0)) : expected.update(batch(k));
                BatchNormalizationModel saved = BatchNormalizationModel.load(path("model"));
                assertSameStatistics(expected.statistics(), saved.statistics(), "after micro-batch " + k);
                assertEquals(k, running.lastBatchId());
                assertEquals(String.valueOf(k), Files.readString(directory.resolve("model/lastBatchId")).trim());
                assertEquals(saved.statistics(), running.current().orElseThrow().statistics());
            }
        } finally {
            query.stop();
        }
        assertEquals(List.of("checkpoint", "model"), siblings(), "no temporary directory is left behind");
    }

    @Test
    void aRestartedQueryResumesFromTheSavedModelAndSkipsBatchesItAlreadyHas() throws Exception {
        RowStream stream = memoryStream();
        RunningModel first = RunningModel.resume(path("model"), estimator());
        StreamingQuery query = stream.toDF().writeStream().foreachBatch(first)
                .option("checkpointLocation", path("checkpoint")).start();
        try {
            for (int k = 0; k < 2; k++) {
                add(stream, batches.get(k));
                query.processAllAvailable();
            }
        } finally {
            query.stop();
        }

        RunningModel resumed = RunningModel.resume(path("model"), estimator());
        assertEquals(1, resumed.lastBatchId());
        assertEquals(2 * BATCH_ROWS, resumed.current().orElseThrow().count());
        // A micro-batch Spark runs again after a crash carries an id the saved model already has: it is not counted twice.
        assertFalse(resumed.update(batch(1), 1));
        assertEquals(2 * BATCH_ROWS, BatchNormalizationModel.load(path("model")).count());

        StreamingQuery restarted = stream.toDF().writeStream().foreachBatch(resumed)
                .option("checkpointLocation", path("checkpoint")).start();
        try {
            add(stream, batches.get(2));
            restarted.processAllAvailable();
        } finally {
            restarted.stop();
        }
        assertEquals(2, resumed.lastBatchId(), "the restarted query went on with the next micro-batch");
        assertSameStatistics(estimator().fit(union(3)).statistics(),
                BatchNormalizationModel.load(path("model")).statistics(), "after the restart");
    }

    /** Passes micro-batches to a running model and records, in order, each batch id and whether it was applied. */
    private static final class RecordingBatches implements VoidFunction2<Dataset<Row>, Long> {
        private static final long serialVersionUID = 1L;
        final RunningModel running;
        final List<Long> ids = new CopyOnWriteArrayList<>();
        final List<Boolean> applied = new CopyOnWriteArrayList<>();

        RecordingBatches(RunningModel running) {
            this.running = running;
        }

        @Override
        public void call(Dataset<Row> batch, Long batchId) {
            ids.add(batchId);
            applied.add(running.update(batch, batchId));
        }
    }

    /** Runs micro-batches 0 to 2 through a fresh running model and stops the query. */
    private RowStream runThreeBatches() throws Exception {
        RowStream stream = memoryStream();
        RecordingBatches first = new RecordingBatches(RunningModel.resume(path("model"), estimator()));
        StreamingQuery query = stream.toDF().writeStream().foreachBatch(first)
                .option("checkpointLocation", path("checkpoint")).start();
        try {
            for (int k = 0; k < 3; k++) {
                add(stream, batches.get(k));
                query.processAllAvailable();
                if (k == 1) {
                    copyDirectory(directory.resolve("model"), directory.resolve("model-after-batch-1"));
                }
            }
        } finally {
            query.stop();
        }
        assertEquals(List.of(0L, 1L, 2L), first.ids);
        return stream;
    }

    /**
     * The checkpoint a crash during micro-batch 2 leaves: Spark writes a batch's offsets before running it and its commit
     * after, so a crash in between leaves offsets/2 without commits/2.
     */
    private void forgetTheCommitOfBatch2() throws IOException {
        Path commits = directory.resolve("checkpoint/commits");
        assertTrue(Files.exists(commits.resolve("2")), "batch 2 was committed before the simulated crash");
        assertTrue(Files.exists(directory.resolve("checkpoint/offsets/2")));
        Files.delete(commits.resolve("2"));
        Files.deleteIfExists(commits.resolve(".2.crc"));
    }

    /** Restarts the query from the checkpoint with a resumed running model, then feeds micro-batch 3. */
    private RecordingBatches restartAndFeedBatch3(RowStream stream) throws Exception {
        RecordingBatches restarted = new RecordingBatches(RunningModel.resume(path("model"), estimator()));
        StreamingQuery query = stream.toDF().writeStream().foreachBatch(restarted)
                .option("checkpointLocation", path("checkpoint")).start();
        try {
            query.processAllAvailable();
            add(stream, batches.get(3));
            query.processAllAvailable();
        } finally {
            query.stop();
        }
        assertTrue(Files.exists(directory.resolve("checkpoint/commits/2")), "the replayed batch was committed");
        return restarted;
    }

    private static void copyDirectory(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path file : files.collect(Collectors.toList())) {
                Files.copy(file, to.resolve(from.relativize(file).toString()));
            }
        }
    }

    private static void deleteDirectory(Path directory) throws IOException {
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(java.util.Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.delete(file);
            }
        }
    }

    @Test
    void aCrashAfterTheModelWasSavedReplaysTheBatchOnceAndDoesNotCountItAgain() throws Exception {
        RowStream stream = runThreeBatches();
        forgetTheCommitOfBatch2();

        RecordingBatches restarted = restartAndFeedBatch3(stream);
        assertEquals(List.of(2L, 3L), restarted.ids, "Spark ran batch 2 again, once, then went on");
        assertEquals(List.of(false, true), restarted.applied, "the saved model already had batch 2");
        BatchNormalizationModel saved = BatchNormalizationModel.load(path("model"));
        assertEquals(4 * BATCH_ROWS, saved.count(), "every row counted once");
        assertSameStatistics(estimator().fit(union(4)).statistics(), saved.statistics(), "after the replay");
        assertEquals(3, restarted.running.lastBatchId());
    }

    @Test
    void aCrashBeforeTheModelWasSavedReplaysTheBatchOnceAndCountsItOnce() throws Exception {
        RowStream stream = runThreeBatches();
        forgetTheCommitOfBatch2();
        // The save is all-or-nothing: a crash before it completes leaves the model of batches 0 and 1.
        deleteDirectory(directory.resolve("model"));
        Files.move(directory.resolve("model-after-batch-1"), directory.resolve("model"));

        RecordingBatches restarted = restartAndFeedBatch3(stream);
        assertEquals(List.of(2L, 3L), restarted.ids, "Spark ran batch 2 again, once, then went on");
        assertEquals(List.of(true, true), restarted.applied, "the saved model did not have batch 2 yet");
        BatchNormalizationModel saved = BatchNormalizationModel.load(path("model"));
        assertEquals(4 * BATCH_ROWS, saved.count(), "every row counted once");
        assertSameStatistics(estimator().fit(union(4)).statistics(), saved.statistics(), "after the replay");
        assertEquals(List.of("checkpoint", "model"), siblings());
    }

    @Test
    void aFailingMicroBatchFailsTheQueryAndLeavesTheSavedModelAsItWas() throws Exception {
        RowStream stream = memoryStream();
        RunningModel running = RunningModel.resume(path("model"), estimator());
        StreamingQuery query = stream.toDF().writeStream().foreachBatch(running)
                .option("checkpointLocation", path("checkpoint")).start();
        FeatureStatistics saved;
        try {
            add(stream, batches.get(0));
            query.processAllAvailable();
            saved = BatchNormalizationModel.load(path("model")).statistics();
            add(stream, List.of(RowFactory.create(-1L, 1.0, Double.NaN, Vectors.dense(1, 2))));
            StreamingQueryException failure = assertThrows(StreamingQueryException.class, query::processAllAvailable);
            Throwable cause = failure;
            while (cause.getCause() != null && !(cause instanceof IllegalArgumentException)) {
                cause = cause.getCause();
            }
            assertTrue(cause.getMessage().startsWith("Input column 'b' has an invalid value NaN."), cause.getMessage());
        } finally {
            query.stop();
        }
        assertEquals(saved, BatchNormalizationModel.load(path("model")).statistics());
        assertEquals(0, running.lastBatchId());
        assertEquals(List.of("checkpoint", "model"), siblings());
    }

    @Test
    void aCrashBetweenMovingTheOldModelAsideAndRenamingTheNewOneIsRecovered() throws Exception {
        RunningModel running = RunningModel.resume(path("model"), estimator());
        assertTrue(running.update(batch(0), 0));
        assertTrue(running.update(batch(1), 1));
        FeatureStatistics saved = running.current().orElseThrow().statistics();
        // The state a crash can leave: the complete old model moved aside, the complete new one still temporary.
        Files.move(directory.resolve("model"), directory.resolve(".model.old-1234"));
        Files.createDirectories(directory.resolve(".model.tmp-5678/metadata"));

        RunningModel resumed = RunningModel.resume(path("model"), estimator());
        assertEquals(saved, resumed.current().orElseThrow().statistics());
        assertEquals(1, resumed.lastBatchId());
        assertEquals(List.of("model"), siblings(), "the old model is back and the leftovers are gone");
        assertTrue(resumed.update(batch(2), 2));
        assertSameStatistics(estimator().fit(union(3)).statistics(), resumed.current().orElseThrow().statistics(),
                "after recovering");
    }

    @Test
    void aRunningModelCanStartFromImportedStatistics() {
        BatchNormalizationModel keras = BatchNormalizationModel.fromStatistics(new double[] {0, 0}, new double[] {1, 1},
                new double[0], new double[0], 1e-3).setInputCols("a", "b").setOutputCols("a_bn", "b_bn").setMomentum(0.99);
        RunningModel running = RunningModel.resume(path("model"), keras);
        assertEquals(keras, running.current().orElseThrow(), "not saved until the first batch");
        assertFalse(Files.exists(directory.resolve("model")));
        assertTrue(running.update(batch(0), 0));
        assertSameStatistics(keras.update(batch(0)).statistics(), BatchNormalizationModel.load(path("model")).statistics(),
                "after one batch");
        FeatureStatistics afterFirst = running.current().orElseThrow().statistics();
        Dataset<Row> empty = spark.createDataFrame(List.of(), SCHEMA);
        assertTrue(running.update(empty, 1), "an empty micro-batch is recorded");
        assertEquals(afterFirst, running.current().orElseThrow().statistics(), "but changes nothing");
        assertEquals(1, running.lastBatchId());

        RunningModel fresh = RunningModel.resume(path("fresh"), estimator());
        assertFalse(fresh.update(empty, 0), "with no model yet, an empty micro-batch has nothing to fit");
        assertTrue(fresh.current().isEmpty());
        assertFalse(Files.exists(directory.resolve("fresh")));
    }
}
