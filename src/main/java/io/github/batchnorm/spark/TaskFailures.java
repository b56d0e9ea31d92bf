package io.github.batchnorm.spark;

/**
 * Spark wraps an exception thrown inside a task in a {@code SparkException} whose message is a stack trace. When the
 * root cause is bad input, users should see that cause's own message, so this finds it and rethrows it.
 */
final class TaskFailures {
    private TaskFailures() {
    }

    /**
     * Returns an {@link IllegalArgumentException} carrying the message of the first one in {@code failure}'s cause chain
     * (with {@code failure} as its cause, so nothing is lost); if there is none, rethrows {@code failure} unchanged. Spark
     * throws its checked {@code SparkException} from Scala code without declaring it, hence the {@code Exception} type.
     */
    static RuntimeException unwrapInvalidInput(Exception failure) {
        for (Throwable cause = failure; cause != null && cause.getCause() != cause; cause = cause.getCause()) {
            if (cause instanceof IllegalArgumentException) {
                return new IllegalArgumentException(cause.getMessage(), failure);
            }
        }
        throw TaskFailures.<RuntimeException>sneakyThrow(failure);
    }

    @SuppressWarnings("unchecked")
    private static <E extends Exception> E sneakyThrow(Exception failure) throws E {
        throw (E) failure;
    }
}
