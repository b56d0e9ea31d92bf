package io.github.batchnorm.spark;

import java.io.Serializable;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Where a stage's features come from, resolved against a schema: one Vector column, one {@code array<double>} or
 * {@code array<float>} column, or several numeric scalar columns (one feature each). Validation happens here, before any
 * work, with messages that name the column or param at fault.
 */
public final class FeatureInput implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Stands for "number of features not known from the schema". */
    public static final int UNKNOWN_SIZE = -1;

    /** The three input forms. */
    public enum Kind {
        /** One column of ML Vectors, dense or sparse. */
        VECTOR,
        /** One column of {@code array<double>} or {@code array<float>}, every row of the same length. */
        ARRAY,
        /** Several numeric scalar columns, one feature each. */
        SCALARS
    }

    private final Kind kind;
    private final String[] inputCols;
    private final String[] outputCols;
    private final String weightCol;
    private final boolean floatElements;
    private final int declaredSize;

    private FeatureInput(Kind kind, String[] inputCols, String[] outputCols, String weightCol, boolean floatElements,
            int declaredSize) {
        this.kind = kind;
        this.inputCols = inputCols;
        this.outputCols = outputCols;
        this.weightCol = weightCol;
        this.floatElements = floatElements;
        this.declaredSize = declaredSize;
    }

    /**
     * Resolves the input and weight columns only, for reading statistics from a dataset that is not transformed (a
     * model's update): output columns are neither needed nor checked. The result has no output columns.
     */
    public static FeatureInput resolveInputs(StructType schema, String[] inputCols, boolean multiColumn,
            String weightCol) {
        return resolve(schema, inputCols, new String[0], multiColumn, weightCol);
    }

    /**
     * Resolves and validates the input columns against a schema.
     *
     * @param inputCols one column (a Vector or array column) when {@code multiColumn} is false; otherwise the scalar columns
     * @param outputCols the output columns, one per input column
     * @param weightCol the weight column, or null for unweighted rows
     * @throws IllegalArgumentException naming the column that is missing, mistyped, duplicated or already present
     */
    public static FeatureInput resolve(StructType schema, String[] inputCols, String[] outputCols, boolean multiColumn,
            String weightCol) {
        List<String> available = Arrays.asList(schema.fieldNames());
        for (String input : inputCols) {
            requireExists(available, input, "Input");
        }
        Set<String> seenOutputs = new HashSet<>();
        for (String output : outputCols) {
            if (available.contains(output)) {
                throw new IllegalArgumentException("Output column '" + output + "' already exists. Choose another"
                        + " output column name or drop the column first.");
            }
            if (!seenOutputs.add(output)) {
                throw new IllegalArgumentException("Output column '" + output + "' is named more than once in outputCols.");
            }
        }
        if (weightCol != null) {
            requireExists(available, weightCol, "Weight");
            DataType weightType = schema.apply(weightCol).dataType();
            if (!(weightType instanceof NumericType)) {
                throw new IllegalArgumentException("Weight column '" + weightCol + "' must be numeric but has type "
                        + weightType.catalogString() + ".");
            }
        }
        if (multiColumn) {
            Set<String> seenInputs = new LinkedHashSet<>();
            for (String input : inputCols) {
                if (!seenInputs.add(input)) {
                    throw new IllegalArgumentException("Input column '" + input + "' is named more than once in inputCols.");
                }
                DataType type = schema.apply(input).dataType();
                if (!(type instanceof NumericType)) {
                    throw new IllegalArgumentException("Input column '" + input + "' must be numeric (byte, short, int,"
                            + " long, float, double or decimal) but has type " + type.catalogString() + ".");
                }
            }
            return new FeatureInput(Kind.SCALARS, inputCols.clone(), outputCols.clone(), weightCol, false,
                    inputCols.length);
        }
        String input = inputCols[0];
        StructField field = schema.apply(input);
        DataType type = field.dataType();
        if (type.equals(SQLDataTypes.VectorType())) {
            return new FeatureInput(Kind.VECTOR, inputCols.clone(), outputCols.clone(), weightCol, false,
                    AttributeGroup.fromStructField(field).size());
        }
        if (type instanceof ArrayType) {
            DataType element = ((ArrayType) type).elementType();
            if (element.equals(DataTypes.DoubleType) || element.equals(DataTypes.FloatType)) {
                return new FeatureInput(Kind.ARRAY, inputCols.clone(), outputCols.clone(), weightCol,
                        element.equals(DataTypes.FloatType), UNKNOWN_SIZE);
            }
        }
        throw new IllegalArgumentException("Input column '" + input + "' must hold ML Vectors, array<double> or"
                + " array<float> but has type " + type.catalogString() + ". Use inputCols for numeric scalar columns.");
    }

    private static void requireExists(List<String> available, String column, String role) {
        if (!available.contains(column)) {
            throw new IllegalArgumentException(role + " column '" + column + "' does not exist. Available columns: "
                    + String.join(", ", available) + ".");
        }
    }

    public Kind kind() {
        return kind;
    }

    /** The single input column (Vector or array forms), or the first scalar column. */
    public String inputCol() {
        return inputCols[0];
    }

    public String[] inputCols() {
        return inputCols.clone();
    }

    public String[] outputCols() {
        return outputCols.clone();
    }

    /** The weight column, or null. */
    public String weightCol() {
        return weightCol;
    }

    /** Whether an array input holds floats (and its output will too). */
    public boolean floatElements() {
        return floatElements;
    }

    /** The number of features the schema tells (scalar columns, or a Vector column's ML attributes), else {@link #UNKNOWN_SIZE}. */
    public int declaredSize() {
        return declaredSize;
    }

    /** How the input is named in messages: the column, or "inputCols" for scalar columns. */
    public String describe() {
        return kind == Kind.SCALARS ? "inputCols (" + String.join(", ", inputCols) + ")" : "input column '" + inputCols[0] + "'";
    }

    /**
     * Checks a known number of features against what the schema declares and against gamma and beta, and returns the
     * output schema.
     *
     * @param numFeatures the fitted number of features, or {@link #UNKNOWN_SIZE} before fitting
     */
    public StructType validateAndTransformSchema(StructType schema, int numFeatures, double[] gamma, double[] beta) {
        if (gamma.length > 0 && beta.length > 0 && gamma.length != beta.length) {
            throw new IllegalArgumentException("Params gamma and beta must have the same length, but gamma has "
                    + gamma.length + " values and beta has " + beta.length + ".");
        }
        requireDeclaredSize(numFeatures);
        int size = numFeatures != UNKNOWN_SIZE ? numFeatures : declaredSize;
        if (size != UNKNOWN_SIZE) {
            requireParamLength("gamma", gamma.length, size);
            requireParamLength("beta", beta.length, size);
        }
        StructType output = schema;
        switch (kind) {
            case VECTOR:
                AttributeGroup attributes = size != UNKNOWN_SIZE
                        ? new AttributeGroup(outputCols[0], size) : new AttributeGroup(outputCols[0]);
                StructField field = attributes.toStructField();
                // Nullable, as the column Spark derives for the transform's expression is.
                return output.add(new StructField(field.name(), field.dataType(), true, field.metadata()));
            case ARRAY:
                ArrayType inputType = (ArrayType) schema.apply(inputCol()).dataType();
                return output.add(outputCols[0], inputType, true);
            default:
                for (String outputCol : outputCols) {
                    output = output.add(outputCol, DataTypes.DoubleType, true);
                }
                return output;
        }
    }

    /**
     * Fails if the schema declares a number of features (scalar columns, or a Vector column's ML attributes) other than
     * the model's.
     *
     * @param numFeatures the fitted number of features, or {@link #UNKNOWN_SIZE}
     */
    public void requireDeclaredSize(int numFeatures) {
        if (numFeatures != UNKNOWN_SIZE && declaredSize != UNKNOWN_SIZE && declaredSize != numFeatures) {
            throw new IllegalArgumentException(kind == Kind.SCALARS
                    ? "inputCols has " + declaredSize + " columns, but the model was fitted on " + numFeatures + " features."
                    : "Input column '" + inputCol() + "' holds vectors of size " + declaredSize + " (from its ML attribute"
                            + " metadata), but the model was fitted on " + numFeatures + " features.");
        }
    }

    /** Fails unless a per-feature param is empty or has one value per feature. */
    public void requireParamLength(String param, int length, int numFeatures) {
        if (length != 0 && length != numFeatures) {
            throw new IllegalArgumentException(paramLengthMessage(param, length, numFeatures));
        }
    }

    /** The message for a per-feature param whose length does not match the number of features. */
    public String paramLengthMessage(String param, int length, int numFeatures) {
        return "Param " + param + " has " + length + " values, but " + describe() + " has " + numFeatures
                + " features. Give one value per feature, or none for the default.";
    }

    /**
     * The columns the fit reads, in order: the features (a Vector struct, an {@code array<double>}, or one double per
     * scalar column), then the weight as a double if there is one.
     */
    Column[] fitColumns() {
        int features = kind == Kind.SCALARS ? inputCols.length : 1;
        Column[] columns = new Column[features + (weightCol == null ? 0 : 1)];
        for (int i = 0; i < features; i++) {
            Column input = ColumnNames.col(inputCols[i]);
            columns[i] = kind == Kind.VECTOR ? input
                    : kind == Kind.ARRAY ? input.cast(DataTypes.createArrayType(DataTypes.DoubleType))
                    : input.cast(DataTypes.DoubleType);
        }
        if (weightCol != null) {
            columns[features] = ColumnNames.col(weightCol).cast(DataTypes.DoubleType);
        }
        return columns;
    }
}
