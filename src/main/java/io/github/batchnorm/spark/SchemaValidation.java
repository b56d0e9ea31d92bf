package io.github.batchnorm.spark;

import java.util.Arrays;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Checks a stage's input schema before any work is done, with messages that name the column or param at fault. */
public final class SchemaValidation {
    /** Stands for "number of features not known yet". */
    public static final int UNKNOWN_SIZE = -1;

    private SchemaValidation() {
    }

    /**
     * Validates the input and output columns and the lengths of gamma and beta, and returns the output schema: the input
     * schema plus the output column, typed as a Vector with ML attribute metadata of the right size when it is known.
     *
     * @param numFeatures the number of features if known (a fitted model), else {@link #UNKNOWN_SIZE}; the input column's
     *     ML attribute metadata supplies it when present
     * @throws IllegalArgumentException naming the column or param that is wrong
     */
    public static StructType validateAndTransformSchema(StructType schema, String inputCol, String outputCol,
            int numFeatures, double[] gamma, double[] beta) {
        StructField input = requireVectorColumn(schema, inputCol);
        if (Arrays.asList(schema.fieldNames()).contains(outputCol)) {
            throw new IllegalArgumentException("Output column '" + outputCol + "' already exists. Choose another outputCol"
                    + " or drop the column first.");
        }
        if (gamma.length > 0 && beta.length > 0 && gamma.length != beta.length) {
            throw new IllegalArgumentException("Params gamma and beta must have the same length, but gamma has "
                    + gamma.length + " values and beta has " + beta.length + ".");
        }
        int declaredSize = AttributeGroup.fromStructField(input).size();
        if (numFeatures != UNKNOWN_SIZE && declaredSize >= 0 && declaredSize != numFeatures) {
            throw new IllegalArgumentException("Input column '" + inputCol + "' holds vectors of size " + declaredSize
                    + " (from its ML attribute metadata), but the model was fitted on " + numFeatures + " features.");
        }
        int size = numFeatures != UNKNOWN_SIZE ? numFeatures : declaredSize;
        if (size >= 0) {
            requireParamLength("gamma", gamma, size, inputCol);
            requireParamLength("beta", beta, size, inputCol);
        }
        AttributeGroup outputAttributes = size >= 0 ? new AttributeGroup(outputCol, size) : new AttributeGroup(outputCol);
        StructField output = outputAttributes.toStructField();
        // Nullable, as the column Spark derives for the transform's expression is.
        return schema.add(new StructField(output.name(), output.dataType(), true, output.metadata()));
    }

    /** Fails unless {@code gamma}/{@code beta} is empty or has one value per feature. */
    public static void requireParamLength(String param, double[] values, int numFeatures, String inputCol) {
        if (values.length != 0 && values.length != numFeatures) {
            throw new IllegalArgumentException(paramLengthMessage(param, values.length, numFeatures, inputCol));
        }
    }

    /** The message for a per-feature param whose length does not match the number of features. */
    static String paramLengthMessage(String param, int length, int numFeatures, String inputCol) {
        return "Param " + param + " has " + length + " values, but input column '" + inputCol + "' has " + numFeatures
                + " features. Give one value per feature, or none for the default.";
    }

    /** Returns the field of {@code column}, which must exist and hold ML Vectors. */
    public static StructField requireVectorColumn(StructType schema, String column) {
        String[] names = schema.fieldNames();
        if (!Arrays.asList(names).contains(column)) {
            throw new IllegalArgumentException("Input column '" + column + "' does not exist. Available columns: "
                    + String.join(", ", names) + ".");
        }
        StructField field = schema.apply(column);
        DataType type = field.dataType();
        if (!type.equals(SQLDataTypes.VectorType())) {
            throw new IllegalArgumentException("Input column '" + column + "' must hold ML Vectors"
                    + " (org.apache.spark.ml.linalg.Vector) but has type " + type.catalogString() + ".");
        }
        return field;
    }
}
