package io.github.batchnorm.jobs;

import io.github.batchnorm.spark.SparkLine;
import org.apache.spark.sql.AnalysisException;

/**
 * Sorts a failure into bad input (exit 2) or anything else (exit 1), with the one line the user should read.
 *
 * <p>Bad input is what the user can fix: our own {@link UsageException}s; {@link IllegalArgumentException}s that this
 * project's code threw about the data or the options; Spark's analysis errors (a missing column or path); the
 * transform's {@code raise_error} on an invalid value; malformed records. An {@code IllegalArgumentException} that
 * Spark, Hadoop, Scala or the JDK threw (an internal {@code require}, say) is not: that is a failure, exit 1.
 */
final class Failures {
    /** Where this project's classes live; an exception first thrown there is one of our own checks. */
    private static final String OWN_PACKAGE = "io.github.batchnorm.";

    private Failures() {
    }

    record Outcome(int exitCode, String message) {
    }

    static Outcome classify(Throwable failure) {
        for (Throwable cause = failure; cause != null && cause.getCause() != cause; cause = cause.getCause()) {
            if (cause instanceof UsageException || cause instanceof AnalysisException) {
                return new Outcome(BatchNormJob.BAD_INPUT, firstLine(cause.getMessage()));
            }
            if (cause instanceof IllegalArgumentException) {
                // The outermost one carries the message meant for the user (a task's failure is rethrown with its
                // message); the innermost one tells who threw it.
                return thrownByUs(originalIllegalArgument(cause))
                        ? new Outcome(BatchNormJob.BAD_INPUT, firstLine(cause.getMessage()))
                        : failure(failure);
            }
            String raised = SparkLine.raisedErrorMessage(cause);
            if (raised != null) {
                // Our transform's raise_error on an invalid value.
                return new Outcome(BatchNormJob.BAD_INPUT, firstLine(raised));
            }
            String message = String.valueOf(cause.getMessage());
            if (message.contains("MALFORMED_RECORD_IN_PARSING") || message.contains("Malformed")) {
                return new Outcome(BatchNormJob.BAD_INPUT, "Malformed input: " + firstLine(message));
            }
        }
        return failure(failure);
    }

    private static Outcome failure(Throwable failure) {
        return new Outcome(BatchNormJob.FAILURE, failure.getClass().getSimpleName() + ": " + firstLine(failure.getMessage()));
    }

    /**
     * The innermost {@link IllegalArgumentException} in the cause chain: the one first thrown, which outer ones only pass
     * on (a task failure's cause rethrown on the driver, a message made clearer).
     */
    private static IllegalArgumentException originalIllegalArgument(Throwable failure) {
        IllegalArgumentException original = null;
        for (Throwable cause = failure; cause != null && cause.getCause() != cause; cause = cause.getCause()) {
            if (cause instanceof IllegalArgumentException illegal) {
                original = illegal;
            }
        }
        return original;
    }

    /** Whether the exception was created in this project's code (its stack trace starts there). */
    private static boolean thrownByUs(Throwable exception) {
        StackTraceElement[] trace = exception.getStackTrace();
        return trace.length > 0 && trace[0].getClassName().startsWith(OWN_PACKAGE);
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "(no message)";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
