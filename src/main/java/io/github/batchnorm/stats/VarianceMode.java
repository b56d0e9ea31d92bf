package io.github.batchnorm.stats;

/** Which denominator turns a centred second moment into a variance. */
public enum VarianceMode {
    /** Divide by the total weight (n): the biased variance that batch normalisation, Keras, PyTorch and scikit-learn use. */
    POPULATION("population"),
    /**
     * Divide by the reliability-weights correction {@code W - sum(w^2) / W}, which is {@code n - 1} for unit weights: the
     * unbiased variance that Spark's {@code StandardScaler} uses.
     */
    SAMPLE("sample");

    private final String paramValue;

    VarianceMode(String paramValue) {
        this.paramValue = paramValue;
    }

    /** The value of the {@code varianceMode} param that selects this mode. */
    public String paramValue() {
        return paramValue;
    }

    /** Parses a {@code varianceMode} param value; the message lists the accepted values. */
    public static VarianceMode fromParam(String value) {
        for (VarianceMode mode : values()) {
            if (mode.paramValue.equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("varianceMode must be one of " + String.join(", ", paramValues()) + " but was '"
                + value + "'");
    }

    /** All accepted param values, lower case, in declaration order. */
    public static String[] paramValues() {
        VarianceMode[] modes = values();
        String[] names = new String[modes.length];
        for (int i = 0; i < modes.length; i++) {
            names[i] = modes[i].paramValue;
        }
        return names;
    }

    @Override
    public String toString() {
        return paramValue;
    }
}
