package io.github.batchnorm.spark;

import io.github.batchnorm.stats.Summation;
import java.io.Serializable;

/**
 * What one pass of a fit needs, read from a stage's params and parsed once on the driver. It is all that travels to the
 * executors with the pass's tasks: plain values, no stage and no functions.
 *
 * @param input the resolved input (and weight) columns
 * @param handleInvalid what to do with null, NaN and infinite values
 * @param summation which accumulator the pass folds rows into
 * @param aggregationDepth the depth of the {@code treeAggregate}
 * @param requiredSize the number of features every row must have, or {@link FeatureInput#UNKNOWN_SIZE}
 * @param requiredBy what requires that number, for the message when a row has another
 */
public record FitSettings(FeatureInput input, HandleInvalid handleInvalid, Summation summation, int aggregationDepth,
        int requiredSize, SizeSource requiredBy) implements Serializable {

    /** What fixes the number of features before the data is read. */
    public enum SizeSource {
        /** Nothing: the first row decides. */
        DATA,
        /** The length of the gamma param. */
        GAMMA,
        /** The length of the beta param. */
        BETA,
        /** The model being updated. */
        MODEL
    }

    /** Parses the params' string values; they were validated when set, so this cannot fail for a stage's own values. */
    public static FitSettings of(FeatureInput input, String handleInvalid, String summation, int aggregationDepth,
            int requiredSize, SizeSource requiredBy) {
        return new FitSettings(input, HandleInvalid.fromParam(handleInvalid), Summation.fromParam(summation),
                aggregationDepth, requiredSize, requiredBy);
    }

    /** The error for a row of {@code actualSize} features where {@link #requiredSize} are required. */
    String sizeMismatch(int actualSize) {
        switch (requiredBy) {
            case GAMMA:
                return input.paramLengthMessage("gamma", requiredSize, actualSize);
            case BETA:
                return input.paramLengthMessage("beta", requiredSize, actualSize);
            case MODEL:
                return "Cannot update the model: " + input.describe() + " has " + actualSize + " features, but the model"
                        + " has " + requiredSize + ".";
            default:
                throw new IllegalStateException("no size is required, so none can mismatch");
        }
    }
}
