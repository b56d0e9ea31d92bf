package io.github.batchnorm.testing;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.function.Executable;

/** Assertions about failures that the tests of bad input share. */
public final class Expect {
    private Expect() {
    }

    /** Runs {@code action}, which must throw an {@link IllegalArgumentException}, and returns its message. */
    public static String illegalArgument(Executable action) {
        return assertThrows(IllegalArgumentException.class, action).getMessage();
    }

    /**
     * Runs {@code action}, which must throw an {@link IllegalArgumentException}, and returns how many Spark jobs it ran
     * first: zero shows that validation happened before any work.
     */
    public static long jobsRunBefore(SparkSession spark, Executable action) {
        long before = spark.sparkContext().statusTracker().getJobIdsForGroup(null).length;
        assertThrows(IllegalArgumentException.class, action);
        return spark.sparkContext().statusTracker().getJobIdsForGroup(null).length - before;
    }
}
