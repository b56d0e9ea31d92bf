package io.github.batchnorm.spark;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/** The wording of invalid-value errors, shared by the fit and every transform path so users see one message. */
final class InvalidValues {
    static final String ADVICE = " Set handleInvalid to 'skip' to drop such rows, or to 'keep' to leave such values out of"
            + " the statistics and pass them through the transform.";

    private InvalidValues() {
    }

    /** For a scalar column, where the column is the feature. */
    static String scalar(String column, String value) {
        return "Input column '" + column + "' has an invalid value " + value + "." + ADVICE;
    }

    /** For an element of a vector or array column. */
    static String element(String column, int index, String value) {
        return "Input column '" + column + "' has an invalid value " + value + " at index " + index + "." + ADVICE;
    }

    /** For a Vector whose size is not the model's number of features. */
    static String vectorSize(String column, int size, int numFeatures) {
        return "Input column '" + column + "' has a vector of size " + size + ", but the model was fitted on "
                + numFeatures + " features.";
    }

    /** Fails the query for an array whose length is not the model's number of features, giving the length it has. */
    static Column arrayLengthError(String column, Column array, int numFeatures) {
        return functions.raise_error(functions.concat(
                functions.lit("Input column '" + column + "' has an array of length "),
                functions.size(array).cast(DataTypes.StringType),
                functions.lit(", but the model was fitted on " + numFeatures + " features.")));
    }

    /** For a null vector or array. */
    static String nullRow(String column, String what) {
        return "Input column '" + column + "' contains a null " + what + "." + ADVICE;
    }

    /** For a weight that is null, negative, NaN or infinite: always an error, whatever handleInvalid says. */
    static String weight(String column, String value) {
        return "Weight column '" + column + "' has an invalid value " + value + ": weights must be finite and >= 0.";
    }

    /** For rows whose number of features changes within a column. */
    static String sizes(String column, String what, int first, int other) {
        return "Input column '" + column + "' holds " + what + "s of different sizes: " + first + " and " + other
                + ". Every row must have the same number of features.";
    }
}
