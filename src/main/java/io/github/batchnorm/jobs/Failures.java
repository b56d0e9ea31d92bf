package io.github.batchnorm.jobs;

import org.apache.spark.sql.AnalysisException;

/** Sorts a failure into bad input (exit 2) or anything else (exit 1), with the one line the user should read. */
final class Failures {
    private Failures() {
    }

    record Outcome(int exitCode, String message) {
    }

    static Outcome classify(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof UsageException || cause instanceof IllegalArgumentException) {
                return new Outcome(BatchNormJob.BAD_INPUT, firstLine(cause.getMessage()));
            }
            if (cause instanceof AnalysisException) {
                return new Outcome(BatchNormJob.BAD_INPUT, firstLine(cause.getMessage()));
            }
            String message = String.valueOf(cause.getMessage());
            if (message.contains("USER_RAISED_EXCEPTION")) {
                // Our transform's raise_error: "[USER_RAISED_EXCEPTION] <our message> SQLSTATE: P0001".
                String text = message.substring(message.indexOf(']') + 1).trim();
                int state = text.indexOf(" SQLSTATE");
                return new Outcome(BatchNormJob.BAD_INPUT, firstLine(state >= 0 ? text.substring(0, state) : text));
            }
            if (message.contains("MALFORMED_RECORD_IN_PARSING") || message.contains("Malformed")) {
                return new Outcome(BatchNormJob.BAD_INPUT, "Malformed input: " + firstLine(message));
            }
        }
        return new Outcome(BatchNormJob.FAILURE, failure.getClass().getSimpleName() + ": " + firstLine(failure.getMessage()));
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "(no message)";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
