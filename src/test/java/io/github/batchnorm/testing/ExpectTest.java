package io.github.batchnorm.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Expect.jobsRunBefore counts every job an action ran, however late the listener events arrive")
class ExpectTest {

    @Test
    void anActionThatRunsNoJobCountsZero() {
        assertEquals(0, Expect.jobsRunBefore(SparkTestSession.get(), () -> {
            throw new IllegalArgumentException("rejected before any work");
        }));
    }

    @Test
    void jobsWhoseStartEventsAreStillQueuedWhenTheActionFailsAreCounted() {
        SparkSession spark = SparkTestSession.get();
        SparkContext context = spark.sparkContext();
        // A slow listener on the status queue (which feeds the status tracker) and on the shared queue holds each job's
        // start event back well past the end of the job, as a busy driver would.
        SlowListener slow = new SlowListener();
        context.listenerBus().addToStatusQueue(slow);
        context.listenerBus().addToSharedQueue(slow);
        try {
            JavaRDD<Integer> rdd = JavaSparkContext.fromSparkContext(context).parallelize(List.of(1, 2, 3), 2);
            assertEquals(2, Expect.jobsRunBefore(spark, () -> {
                // RDD counts: one job each, where a Dataset count may run one per adaptive stage.
                rdd.count();
                rdd.count();
                throw new IllegalArgumentException("rejected after two jobs");
            }));
        } finally {
            context.removeSparkListener(slow);
        }
    }

    private static final class SlowListener extends SparkListener {
        @Override
        public void onJobStart(SparkListenerJobStart jobStart) {
            try {
                Thread.sleep(1500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
