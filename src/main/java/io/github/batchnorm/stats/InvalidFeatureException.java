package io.github.batchnorm.stats;

/**
 * One feature's statistics cannot be used (no value with positive weight, a negative variance, ...). It carries the
 * feature's index so that code which knows the column names can say which column it is.
 */
public final class InvalidFeatureException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final int feature;
    private final String problem;

    /** @param problem what is wrong, as the rest of a sentence that starts with the feature: "has no value ..." */
    public InvalidFeatureException(int feature, String problem) {
        super("feature " + feature + " " + problem);
        this.feature = feature;
        this.problem = problem;
    }

    /** The zero-based index of the offending feature. */
    public int feature() {
        return feature;
    }

    /** The message without the feature: "has no value ...". */
    public String problem() {
        return problem;
    }
}
