package io.github.batchnorm.cluster;

import io.github.batchnorm.BatchNormalization;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The driver of {@code jobs/fault-test}: on a standalone cluster, fits the same generated table twice, undisturbed and
 * then while one executor JVM is killed, and checks that the second fit finishes with the first one's statistics.
 *
 * <p>The kill: once a quarter of the second fit's first tasks have finished (so the executor has finished work to lose,
 * and the fit has work still to do), the executor JVM that is a child process of the given Worker gets SIGKILL. It is sent
 * from here, the moment the scheduler reports those tasks, because a script watching a log reacts too late on a busy
 * machine. The scheduler is watched too: a run in which no executor was lost during the second fit proves nothing, and
 * says so.
 *
 * <p>Usage: {@code FaultTestDriver MASTER_URL APPLICATION_JAR ROWS PARTITIONS WORKER_PID}. Exit codes: 0 the fit survived
 * with the same statistics; 1 it failed or the statistics differ; 3 inconclusive (no executor was lost during the fit).
 */
public final class FaultTestDriver {
    /**
     * Spark merges the partition summaries in task-completion order, which retried tasks change, and the merge order
     * moves the last bits; so the two fits agree to this relative tolerance, not bit for bit (yet).
     */
    private static final double TOLERANCE = 1e-12;
    private static final int FEATURES = 8;

    private FaultTestDriver() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("Usage: FaultTestDriver MASTER_URL APPLICATION_JAR ROWS PARTITIONS WORKER_PID");
            System.exit(2);
        }
        String master = args[0];
        long rows = Long.parseLong(args[2]);
        int partitions = Integer.parseInt(args[3]);
        long workerPid = Long.parseLong(args[4]);
        SparkSession spark = SparkSession.builder().master(master).appName("batchnorm fault test")
                .config("spark.jars", args[1])
                .config("spark.ui.enabled", "false")
                .config("spark.executor.memory", "1g")
                .config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
                .getOrCreate();
        int exitCode;
        try {
            exitCode = run(spark, rows, partitions, workerPid);
        } finally {
            spark.stop();
        }
        System.exit(exitCode);
    }

    private static int run(SparkSession spark, long rows, int partitions, long workerPid) throws InterruptedException {
        SchedulerWatch watch = new SchedulerWatch(partitions, workerPid);
        spark.sparkContext().addSparkListener(watch);
        int executors = waitForExecutors(spark, 2, 120);
        report("%d executors registered; %,d rows x %d features in %d partitions", executors, rows, FEATURES,
                partitions);
        Dataset<Row> table = table(spark, rows, partitions);
        // Exact summation: a fit that lost an executor and re-ran its tasks must give the very same bits.
        BatchNormalization estimator = new BatchNormalization().setInputCols(featureNames())
                .setOutputCols(outputNames()).setSummation("exact");

        long started = System.nanoTime();
        FeatureStatistics undisturbed = estimator.fit(table).statistics();
        report("undisturbed fit: %.1f s", (System.nanoTime() - started) / 1e9);
        if (watch.executorsRemovedBeforeArming.get() > 0) {
            report("INCONCLUSIVE: an executor was lost before the disturbed fit");
            return 3;
        }

        watch.arm();
        started = System.nanoTime();
        FeatureStatistics disturbed;
        try {
            disturbed = estimator.fit(table).statistics();
        } catch (RuntimeException e) {
            report("FAILED: the disturbed fit did not finish: %s", e);
            return 1;
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        watch.awaitJobsEnded(60);
        report("disturbed fit: %.1f s; executors lost during it: %d %s; executors added: %d; unsuccessful task ends:"
                + " %s", seconds, watch.executorsRemoved.get(), watch.removalReasons, watch.executorsAdded.get(),
                watch.failedTasks);
        if (watch.executorsRemoved.get() == 0) {
            report("INCONCLUSIVE: no executor was lost during the disturbed fit (was the kill too late?)");
            return 3;
        }
        int code = compare(undisturbed, disturbed, rows);
        // Not part of the verdict (the fit does not need it), but worth seeing: the Worker replaces what was killed.
        started = System.nanoTime();
        int executorsNow = waitForExecutors(spark, 2, 60);
        report("executors registered %.1f s after the disturbed fit: %d", (System.nanoTime() - started) / 1e9,
                executorsNow);
        return code;
    }

    /**
     * Feature j of row {@code id} is a pure function of (id, j), so a task that is run again after a lost executor reads
     * exactly the rows it read the first time. Scales range from 0.1 to 1e5; one feature sits at 1e9 with unit spread.
     */
    private static Dataset<Row> table(SparkSession spark, long rows, int partitions) {
        Column[] columns = new Column[FEATURES];
        for (int j = 0; j < FEATURES; j++) {
            // 53 random bits of the hash, as a uniform value in [0, 1).
            Column uniform = functions.xxhash64(functions.col("id"), functions.lit(j))
                    .bitwiseAND((1L << 53) - 1).cast("double").divide((double) (1L << 53));
            Column value = j == FEATURES - 1 ? uniform.plus(1e9)
                    : uniform.minus(0.5).multiply(Math.pow(10, j - 1)).plus(j * 3.0);
            columns[j] = value.as(featureNames()[j]);
        }
        return spark.range(0, rows, 1, partitions).select(columns);
    }

    private static int compare(FeatureStatistics undisturbed, FeatureStatistics disturbed, long rows) {
        List<String> problems = new ArrayList<>();
        if (undisturbed.rowCount() != rows || disturbed.rowCount() != rows) {
            problems.add("row counts " + undisturbed.rowCount() + " and " + disturbed.rowCount() + ", expected " + rows);
        }
        if (!Arrays.equals(undisturbed.count(), disturbed.count())
                || !Arrays.equals(undisturbed.weightSum(), disturbed.weightSum())) {
            problems.add("per-feature counts or weights differ: " + Arrays.toString(undisturbed.count()) + " and "
                    + Arrays.toString(disturbed.count()));
        }
        double worst = 0.0;
        boolean bitwise = undisturbed.equals(disturbed);
        double[] variance = undisturbed.variance(VarianceMode.POPULATION);
        for (int j = 0; j < FEATURES; j++) {
            double meanError = Math.abs(disturbed.mean()[j] - undisturbed.mean()[j])
                    / Math.max(Math.abs(undisturbed.mean()[j]), Math.sqrt(variance[j]));
            double varianceError = Math.abs(disturbed.variance(VarianceMode.POPULATION)[j] - variance[j]) / variance[j];
            worst = Math.max(worst, Math.max(meanError, varianceError));
            if (!(meanError <= TOLERANCE && varianceError <= TOLERANCE)) {
                problems.add(String.format(Locale.ROOT, "feature %d: mean %.17g vs %.17g, variance %.17g vs %.17g", j,
                        undisturbed.mean()[j], disturbed.mean()[j], variance[j],
                        disturbed.variance(VarianceMode.POPULATION)[j]));
            }
        }
        report("largest relative difference from the undisturbed fit: %.3g (allowed %.0g); bit-identical: %s", worst,
                TOLERANCE, bitwise ? "yes" : "no");
        if (!bitwise) {
            problems.add("summation=exact promises bit-identical statistics after retries, and they differ");
        }
        if (!problems.isEmpty()) {
            problems.forEach(problem -> report("MISMATCH: %s", problem));
            return 1;
        }
        report("PASSED: the fit survived the lost executor with the undisturbed fit's statistics, bit for bit");
        return 0;
    }

    private static int waitForExecutors(SparkSession spark, int wanted, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        int executors = 0;
        while (System.nanoTime() < deadline) {
            // The driver is listed too.
            executors = spark.sparkContext().statusTracker().getExecutorInfos().length - 1;
            if (executors >= wanted) {
                break;
            }
            Thread.sleep(200);
        }
        return executors;
    }

    private static String[] featureNames() {
        String[] names = new String[FEATURES];
        for (int j = 0; j < FEATURES; j++) {
            names[j] = "x" + j;
        }
        return names;
    }

    private static String[] outputNames() {
        String[] names = featureNames();
        for (int j = 0; j < FEATURES; j++) {
            names[j] += "_bn";
        }
        return names;
    }

    private static void report(String format, Object... args) {
        System.out.println("fault-test: " + String.format(Locale.ROOT, format, args));
        System.out.flush();
    }

    /** Counts what the scheduler saw after {@link #arm()}: tasks, failures by reason, executors lost and added. */
    private static final class SchedulerWatch extends SparkListener {
        private final AtomicBoolean armed = new AtomicBoolean();
        private final AtomicInteger succeeded = new AtomicInteger();
        private final AtomicInteger executorsRemovedBeforeArming = new AtomicInteger();
        private volatile long armedAt;
        /**
         * How many tasks must have finished before the kill: a quarter of the first stage, so that each executor has
         * finished a few and the one killed takes finished shuffle output with it.
         */
        private final int killAfter;
        private final long workerPid;
        private final AtomicInteger executorsRemoved = new AtomicInteger();
        private final AtomicInteger executorsAdded = new AtomicInteger();
        private final AtomicInteger jobsStarted = new AtomicInteger();
        private final AtomicInteger jobsEnded = new AtomicInteger();
        private final List<String> removalReasons = new CopyOnWriteArrayList<>();
        private final Map<String, Integer> failedTasks = new ConcurrentHashMap<>();
        private final Set<Integer> stages = ConcurrentHashMap.newKeySet();

        SchedulerWatch(int partitions, long workerPid) {
            this.killAfter = Math.max(1, partitions / 4);
            this.workerPid = workerPid;
        }

        /** SIGKILL (what {@code destroyForcibly} sends on Linux) to the Worker's child process, its executor JVM. */
        private void killExecutor() {
            Optional<ProcessHandle> executor = ProcessHandle.of(workerPid).stream().flatMap(ProcessHandle::children)
                    .filter(child -> child.info().arguments().map(Arrays::asList)
                            .map(arguments -> arguments.contains("org.apache.spark.executor.CoarseGrainedExecutorBackend"))
                            .orElse(false))
                    .findFirst();
            if (executor.isEmpty()) {
                report("the Worker (pid %d) has no executor process to kill", workerPid);
                return;
            }
            executor.get().destroyForcibly();
            report("killed executor JVM pid %d (child of the Worker, pid %d) with SIGKILL after %d tasks of the fit,"
                    + " %.1f s into it", executor.get().pid(), workerPid, killAfter, (System.nanoTime() - armedAt) / 1e9);
        }

        void arm() {
            armedAt = System.nanoTime();
            armed.set(true);
        }

        /** Listener events arrive asynchronously; every event of the fit has arrived once its jobs' ends have. */
        void awaitJobsEnded(int seconds) throws InterruptedException {
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            while ((jobsStarted.get() == 0 || jobsEnded.get() < jobsStarted.get()) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }

        @Override
        public void onJobStart(SparkListenerJobStart jobStart) {
            if (armed.get()) {
                jobsStarted.incrementAndGet();
                for (Object stage : CollectionConverters.asJava(jobStart.stageIds())) {
                    stages.add((Integer) stage);
                }
            }
        }

        @Override
        public void onJobEnd(SparkListenerJobEnd jobEnd) {
            if (armed.get()) {
                jobsEnded.incrementAndGet();
            }
        }

        @Override
        public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
            // Events of the undisturbed fit may still be arriving; only the disturbed fit's stages count.
            if (!armed.get() || !stages.contains(taskEnd.stageId())) {
                return;
            }
            String reason = taskEnd.reason().getClass().getSimpleName().replace("$", "");
            if (!reason.equals("Success")) {
                // ExecutorLostFailure: running when its executor died; Resubmitted: finished, but its shuffle output
                // died with the executor; FetchFailed: could not read such output.
                failedTasks.merge(reason, 1, Integer::sum);
            } else if (succeeded.incrementAndGet() == killAfter) {
                killExecutor();
            }
        }

        @Override
        public void onExecutorRemoved(SparkListenerExecutorRemoved removed) {
            if (!armed.get()) {
                executorsRemovedBeforeArming.incrementAndGet();
            } else {
                executorsRemoved.incrementAndGet();
                removalReasons.add("executor " + removed.executorId() + ": " + removed.reason());
            }
        }

        @Override
        public void onExecutorAdded(SparkListenerExecutorAdded added) {
            if (armed.get()) {
                executorsAdded.incrementAndGet();
            }
        }
    }
}
