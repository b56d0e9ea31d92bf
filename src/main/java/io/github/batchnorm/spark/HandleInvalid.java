package io.github.batchnorm.spark;

/**
 * What to do with an invalid feature value: null, NaN, +Infinity or -Infinity (or a null vector or array).
 */
public enum HandleInvalid {
    /** Fail {@code fit} and {@code transform} with a message naming the column, the feature index and the value. */
    ERROR("error"),
    /** Leave rows with any invalid feature value out of the statistics and drop them from the transform's output. */
    SKIP("skip"),
    /**
     * Leave each invalid value out of its own feature's statistics (per-feature counts, as scikit-learn's
     * {@code StandardScaler} does with NaN) and pass it through the transform unchanged.
     */
    KEEP("keep");

    private final String paramValue;

    HandleInvalid(String paramValue) {
        this.paramValue = paramValue;
    }

    /** The value of the {@code handleInvalid} param that selects this policy. */
    public String paramValue() {
        return paramValue;
    }

    /** Parses a {@code handleInvalid} param value. */
    public static HandleInvalid fromParam(String value) {
        for (HandleInvalid policy : values()) {
            if (policy.paramValue.equals(value)) {
                return policy;
            }
        }
        throw new IllegalArgumentException("handleInvalid must be one of error, skip, keep but was '" + value + "'");
    }

    /** All accepted param values, in declaration order. */
    public static String[] paramValues() {
        HandleInvalid[] policies = values();
        String[] names = new String[policies.length];
        for (int i = 0; i < policies.length; i++) {
            names[i] = policies[i].paramValue;
        }
        return names;
    }

    @Override
    public String toString() {
        return paramValue;
    }
}
