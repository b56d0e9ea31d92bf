package io.github.batchnorm.spark;

/**
 * Spark wraps an exception thrown inside a task in a {@code SparkException} whose message is a stack trace. When the
 * root cause is bad input, users should see that cause's own message, so this finds it and rethrows it.
 */
final class TaskFailures {
    private TaskFailures() {
    }

    /**
     * Returns an {@link IllegalArgumentException} carrying the message of the first one in {@code failure}'s cause chain,
     * or {@code failure} itself if there is none.
     */
    static RuntimeException unwrapInvalidInput(RuntimeException failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof IllegalArgumentException) {
                return new IllegalArgumentException(cause.getMessage(), failure);
            }
            if (cause.getCause() == cause) {
                break;
            }
        }
        return failure;
    }
}
