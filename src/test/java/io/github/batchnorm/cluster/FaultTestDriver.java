package io.github.batchnorm.cluster;

import io.github.batchnorm.BatchNormalization;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import io.github.batchnorm.testing.SparkLineTesting;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * The driver of {@code jobs/fault-test}: on a standalone cluster, fits the same generated table twice, undisturbed and
 * then while one executor JVM is killed, and checks that the second fit finishes with the first one's statistics, bit
 * for bit ({@code summation = exact}).
 *
 * <p>The kill: once a quarter of the disturbed fit's first tasks have finished (so the executor has finished work to
 * lose, and the fit has work still to do), the executor JVM that is a child process of the given Worker gets SIGKILL. It
 * is sent from here, the moment the scheduler reports those tasks, because a script watching a log reacts too late on a
 * busy machine.
 *
 * <p>A disturbed fit counts only if the scheduler shows that the kill landed during it: the executor it lost is the one
 * whose PID was killed (matched by the {@code --executor-id} on that JVM's command line), the loss reached the driver
 * before the end of the job that was running when the kill was sent, and at least one task of that job failed or was
 * resubmitted. Otherwise the disturbed fit is tried again, up to {@link #ATTEMPTS} times in all, and then the test fails:
 * it never passes without a kill that landed.
 *
 * <p>Usage: {@code FaultTestDriver MASTER_URL APPLICATION_JAR ROWS PARTITIONS WORKER_PID}. Exit codes: 0 the fit survived
 * a kill that landed mid-fit, with the same statistics; 1 it failed, the statistics differ, or no kill landed mid-fit in
 * {@link #ATTEMPTS} attempts.
 */
public final class FaultTestDriver {
    /** Disturbed fits tried before giving up on a kill that lands mid-fit. */
    static final int ATTEMPTS = 3;
    /** How long to wait for the listener bus to deliver the events of a fit that has returned. */
    private static final long DRAIN_MILLIS = 60_000;
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

    private static int run(SparkSession spark, long rows, int partitions, long workerPid) throws Exception {
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

        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            executors = waitForExecutors(spark, 2, 120);
            if (executors < 2) {
                report("FAILED: only %d executors registered before attempt %d", executors, attempt);
                return 1;
            }
            drain(spark);
            SchedulerWatch watch = new SchedulerWatch(partitions, workerPid);
            spark.sparkContext().addSparkListener(watch);
            FeatureStatistics disturbed;
            try {
                started = System.nanoTime();
                try {
                    disturbed = estimator.fit(table).statistics();
                } catch (RuntimeException e) {
                    report("FAILED: the disturbed fit did not finish: %s", e);
                    return 1;
                }
                double seconds = (System.nanoTime() - started) / 1e9;
                // Every event of the fit has been posted once it returns; draining delivers them before they are read.
                drain(spark);
                report("attempt %d of %d: disturbed fit %.1f s; executors lost: %s; unsuccessful task ends in the"
                        + " killed job: %s", attempt, ATTEMPTS, seconds, watch.removals, watch.failedTasks);
            } finally {
                spark.sparkContext().removeSparkListener(watch);
            }
            String missed = watch.whyTheKillDidNotLandMidFit();
            if (missed == null) {
                return compare(undisturbed, disturbed, rows);
            }
            report("attempt %d of %d does not count: %s", attempt, ATTEMPTS, missed);
        }
        report("FAILED: in %d attempts no kill landed during the fit, so the fit's recovery was never tested", ATTEMPTS);
        return 1;
    }

    /** Waits until every event posted so far has reached every listener; fails loudly if it cannot. */
    private static void drain(SparkSession spark) throws TimeoutException {
        spark.sparkContext().listenerBus().waitUntilEmpty(DRAIN_MILLIS);
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
        // The verdict is bit-for-bit equality; the largest relative difference is printed to show how far off a
        // mismatch is.
        double worst = 0.0;
        double[] variance = undisturbed.variance(VarianceMode.POPULATION);
        for (int j = 0; j < FEATURES; j++) {
            double meanError = Math.abs(disturbed.mean()[j] - undisturbed.mean()[j])
                    / Math.max(Math.abs(undisturbed.mean()[j]), Math.sqrt(variance[j]));
            double varianceError = Math.abs(disturbed.variance(VarianceMode.POPULATION)[j] - variance[j]) / variance[j];
            worst = Math.max(worst, Math.max(meanError, varianceError));
        }
        boolean bitwise = undisturbed.equals(disturbed);
        report("largest relative difference from the undisturbed fit: %.3g; bit-identical: %s", worst,
                bitwise ? "yes" : "no");
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

    /**
     * Watches one disturbed fit: kills the executor once enough of its tasks have finished, and records what the
     * scheduler saw of the kill. Listens only while the fit runs (added before it, removed after draining).
     */
    private static final class SchedulerWatch extends SparkListener {
        private final long startedAt = System.nanoTime();
        private final AtomicInteger succeeded = new AtomicInteger();
        /**
         * How many tasks must have finished before the kill: a quarter of the partitions, so that each executor has
         * finished a few and the one killed takes finished output with it.
         */
        private final int killAfter;
        private final long workerPid;
        private final Map<Integer, Integer> jobOfStage = new ConcurrentHashMap<>();
        private final Set<Integer> endedJobs = ConcurrentHashMap.newKeySet();
        private final List<String> removals = new CopyOnWriteArrayList<>();
        private final Map<String, Integer> failedTasks = new ConcurrentHashMap<>();
        /** Set once, by the kill: the PID killed, its executor id, and the job that was running. */
        private volatile Long killedPid;
        private volatile String killedExecutorId;
        private volatile Integer killedJob;
        /** Whether the killed executor's removal reached the driver before its job ended. */
        private volatile boolean lostBeforeJobEnded;
        private volatile boolean lostAfterJobEnded;

        SchedulerWatch(int partitions, long workerPid) {
            this.killAfter = Math.max(1, partitions / 4);
            this.workerPid = workerPid;
        }

        /** Null if the kill landed mid-fit as required; otherwise what was missing. */
        String whyTheKillDidNotLandMidFit() {
            if (killedPid == null) {
                return "no executor was killed (the Worker had none, or the fit ended before " + killAfter
                        + " tasks finished)";
            }
            if (killedExecutorId == null) {
                return "the killed pid " + killedPid + " had no --executor-id on its command line";
            }
            if (!lostBeforeJobEnded) {
                return "executor " + killedExecutorId + " (pid " + killedPid + ") was "
                        + (lostAfterJobEnded ? "lost only after the fit's job " + killedJob + " ended"
                                : "not seen lost during the fit")
                        + "; executors lost: " + removals;
            }
            if (failedTasks.isEmpty()) {
                return "no task of job " + killedJob + " failed or was resubmitted after the kill";
            }
            return null;
        }

        /** SIGKILL (what {@code destroyForcibly} sends on Linux) to the Worker's child process, its executor JVM. */
        private void killExecutor(int job) {
            Optional<ProcessHandle> executor = ProcessHandle.of(workerPid).stream().flatMap(ProcessHandle::children)
                    .filter(child -> executorId(child) != null)
                    .findFirst();
            if (executor.isEmpty()) {
                report("the Worker (pid %d) has no executor process to kill", workerPid);
                return;
            }
            killedExecutorId = executorId(executor.get());
            killedJob = job;
            killedPid = executor.get().pid();
            executor.get().destroyForcibly();
            report("killed executor %s, JVM pid %d (child of the Worker, pid %d), with SIGKILL after %d tasks of job %d,"
                    + " %.1f s into the fit", killedExecutorId, killedPid, workerPid, killAfter, job,
                    (System.nanoTime() - startedAt) / 1e9);
        }

        /** The executor id on an executor JVM's command line ({@code CoarseGrainedExecutorBackend --executor-id N}). */
        private static String executorId(ProcessHandle process) {
            List<String> arguments = process.info().arguments().map(Arrays::asList).orElse(List.of());
            int flag = arguments.indexOf("--executor-id");
            return arguments.contains("org.apache.spark.executor.CoarseGrainedExecutorBackend") && flag >= 0
                    && flag + 1 < arguments.size() ? arguments.get(flag + 1) : null;
        }

        @Override
        public void onJobStart(SparkListenerJobStart jobStart) {
            for (Object stage : SparkLineTesting.asJava(jobStart.stageIds())) {
                jobOfStage.put((Integer) stage, jobStart.jobId());
            }
        }

        @Override
        public void onJobEnd(SparkListenerJobEnd jobEnd) {
            endedJobs.add(jobEnd.jobId());
        }

        @Override
        public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
            Integer job = jobOfStage.get(taskEnd.stageId());
            if (job == null) {
                return;
            }
            String reason = taskEnd.reason().getClass().getSimpleName().replace("$", "");
            if (!reason.equals("Success")) {
                // ExecutorLostFailure: running when its executor died; Resubmitted: finished, but its output died with
                // the executor; FetchFailed: could not read such output.
                if (job.equals(killedJob)) {
                    failedTasks.merge(reason, 1, Integer::sum);
                }
            } else if (succeeded.incrementAndGet() == killAfter) {
                killExecutor(job);
            }
        }

        @Override
        public void onExecutorRemoved(SparkListenerExecutorRemoved removed) {
            removals.add("executor " + removed.executorId() + ": " + removed.reason());
            // Events reach a listener in the order they were posted, so the job's end has arrived if it came first.
            if (removed.executorId().equals(killedExecutorId)) {
                if (killedJob != null && !endedJobs.contains(killedJob)) {
                    lostBeforeJobEnded = true;
                } else {
                    lostAfterJobEnded = true;
                }
            }
        }
    }
}
