package io.github.batchnorm;

import io.github.batchnorm.spark.AtomicDirectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Keeps a model current from a Structured Streaming query: pass it to {@code writeStream().foreachBatch(...)}, and every
 * micro-batch updates the model ({@link BatchNormalizationModel#update}: exactly, or as a moving average when
 * {@code momentum} is set) and saves it to one directory, all-or-nothing.
 *
 * <pre>{@code
 * RunningModel running = RunningModel.resume("models/people", new BatchNormalization().setInputCols("age", "salary")
 *         .setOutputCols("age_bn", "salary_bn"));
 * spark.readStream()...load().writeStream()
 *         .option("checkpointLocation", "checkpoints/people-bn")
 *         .foreachBatch(running)
 *         .start();
 * }</pre>
 *
 * <p>What makes it safe to stop and restart:
 * <ul>
 *   <li>Each save writes the model into a hidden temporary sibling and renames it into place ({@link AtomicDirectory}),
 *       so a crash never leaves a half-written model at the path; the saved directory is an ordinary model that
 *       {@link BatchNormalizationModel#load} reads.</li>
 *   <li>The saved model records the id of the last micro-batch it contains (file {@code lastBatchId} beside its
 *       {@code metadata} and {@code data}). After a crash, Spark runs the micro-batch it had not committed again with
 *       the same id; a batch the saved model already contains is skipped, so no batch is counted twice.</li>
 *   <li>{@link #resume} starts from the saved model when there is one: a restarted query (same checkpoint location)
 *       carries on from the last micro-batch saved.</li>
 * </ul>
 *
 * <p>A micro-batch with no row of positive weight changes nothing. A batch that fails (invalid values under
 * {@code handleInvalid = error}, for example) fails the query and leaves the saved model as it was. Runs on the driver,
 * in the query's thread; {@link #current()} may be read from any thread. One writer per directory.
 */
public final class RunningModel implements VoidFunction2<Dataset<Row>, Long> {
    private static final long serialVersionUID = 1L;
    /** The file, inside the saved model's directory, that holds the id of the last micro-batch it contains. */
    public static final String LAST_BATCH_FILE = "lastBatchId";

    private final String path;
    /** Fits the first batch when there is no model yet; null when the running model started from a given one. */
    private final BatchNormalization estimator;
    private volatile BatchNormalizationModel current;
    private volatile long lastBatchId;

    private RunningModel(String path, BatchNormalization estimator, BatchNormalizationModel current, long lastBatchId) {
        this.path = path;
        this.estimator = estimator;
        this.current = current;
        this.lastBatchId = lastBatchId;
    }

    /**
     * Resumes from the model saved at {@code path}, or, if there is none, starts with no model: the first micro-batch
     * with data is fitted with {@code estimator} (its params, {@code momentum} included, go to the model).
     */
    public static RunningModel resume(String path, BatchNormalization estimator) {
        Objects.requireNonNull(estimator, "estimator");
        return resume(path, estimator, null);
    }

    /**
     * Resumes from the model saved at {@code path}, or, if there is none, starts from {@code initial} (for example a model
     * from {@link BatchNormalizationModel#fromStatistics}, with {@code momentum} set), which the first micro-batch
     * updates. {@code initial} is not saved until then.
     */
    public static RunningModel resume(String path, BatchNormalizationModel initial) {
        Objects.requireNonNull(initial, "initial");
        return resume(path, null, initial);
    }

    private static RunningModel resume(String path, BatchNormalization estimator, BatchNormalizationModel initial) {
        Configuration configuration = SparkSession.active().sparkContext().hadoopConfiguration();
        if (!AtomicDirectory.recover(path, configuration)) {
            return new RunningModel(path, estimator, initial, -1);
        }
        return new RunningModel(path, estimator, BatchNormalizationModel.load(path), readLastBatchId(path, configuration));
    }

    /** The directory the model is saved to. */
    public String path() {
        return path;
    }

    /** The current model, as last saved; empty until the first micro-batch with data when started from an estimator. */
    public Optional<BatchNormalizationModel> current() {
        return Optional.ofNullable(current);
    }

    /** The id of the last micro-batch the current model contains, or -1 if none. */
    public long lastBatchId() {
        return lastBatchId;
    }

    /** Updates the model with one micro-batch and saves it; what {@code foreachBatch} calls. */
    @Override
    public void call(Dataset<Row> batch, Long batchId) {
        update(batch, batchId);
    }

    /**
     * Updates the model with one batch and saves it, unless the saved model already contains a batch of this id or a
     * later one (a batch run again after a restart).
     *
     * @return whether the batch was applied
     */
    public synchronized boolean update(Dataset<?> batch, long batchId) {
        if (batchId <= lastBatchId) {
            return false;
        }
        BatchNormalizationModel next;
        if (current == null) {
            Optional<BatchNormalizationModel> fitted = estimator.fitIfAny(batch);
            if (fitted.isEmpty()) {
                return false;
            }
            next = fitted.get();
        } else {
            next = current.update(batch);
        }
        save(next, batchId);
        current = next;
        lastBatchId = batchId;
        return true;
    }

    private void save(BatchNormalizationModel model, long batchId) {
        Configuration configuration = SparkSession.active().sparkContext().hadoopConfiguration();
        AtomicDirectory.write(path, configuration, temporary -> {
            try {
                model.save(temporary);
                Path file = new Path(temporary, LAST_BATCH_FILE);
                try (FSDataOutputStream out = file.getFileSystem(configuration).create(file, false)) {
                    out.write((batchId + "\n").getBytes(StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static long readLastBatchId(String path, Configuration configuration) {
        Path file = new Path(path, LAST_BATCH_FILE);
        try {
            FileSystem fs = file.getFileSystem(configuration);
            if (!fs.exists(file)) {
                // A model saved some other way: every batch is new to it.
                return -1;
            }
            try (FSDataInputStream in = fs.open(file)) {
                return Long.parseLong(new String(in.readAllBytes(), StandardCharsets.UTF_8).trim());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return "RunningModel(path=" + path + ", lastBatchId=" + lastBatchId + ", model=" + current + ")";
    }
}
