package io.github.batchnorm.testing;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.function.Executable;

/** Assertions about failures that the tests of bad input share. */
public final class Expect {
    /** Long enough for any queued event of a test's jobs to be delivered; a timeout fails the test, not passes it. */
    private static final long DRAIN_MILLIS = 60_000;

    private Expect() {
    }

    /** Runs {@code action}, which must throw an {@link IllegalArgumentException}, and returns its message. */
    public static String illegalArgument(Executable action) {
        return assertThrows(IllegalArgumentException.class, action).getMessage();
    }

    /**
     * The messages of a failure and of its causes, one a line. A value's error raised inside a task reaches the caller
     * wrapped by Spark, and how much of the cause the wrapper's own message repeats differs between Spark lines.
     */
    public static String messagesOf(Throwable failure) {
        StringBuilder messages = new StringBuilder();
        for (Throwable cause = failure; cause != null && cause != cause.getCause(); cause = cause.getCause()) {
            messages.append(cause.getMessage()).append('\n');
        }
        return messages.toString();
    }

    /**
     * Runs {@code action}, which must throw an {@link IllegalArgumentException}, and returns how many Spark jobs it started
     * first: zero shows that validation happened before any work.
     *
     * <p>Listener events are delivered on another thread. The scheduler posts a job's start before it runs any task, so
     * once the action has returned, the start of every job it ran is in the listener bus's queue; draining the queue
     * before reading the count makes the count complete. Draining before listening keeps earlier tests' late events out.
     */
    public static long jobsRunBefore(SparkSession spark, Executable action) {
        SparkContext context = spark.sparkContext();
        JobStarts starts = new JobStarts();
        drain(context);
        context.addSparkListener(starts);
        try {
            assertThrows(IllegalArgumentException.class, action);
            drain(context);
            return starts.count.get();
        } finally {
            context.removeSparkListener(starts);
        }
    }

    /** Waits until every event posted so far has reached every listener. */
    public static void drain(SparkContext context) {
        try {
            context.listenerBus().waitUntilEmpty(DRAIN_MILLIS);
        } catch (TimeoutException e) {
            throw new AssertionError("Spark's listener bus did not drain in " + DRAIN_MILLIS + " ms", e);
        }
    }

    /** Counts the jobs that start while it listens. */
    private static final class JobStarts extends SparkListener {
        final AtomicLong count = new AtomicLong();

        @Override
        public void onJobStart(SparkListenerJobStart jobStart) {
            count.incrementAndGet();
        }
    }
}
