package io.github.batchnorm.spark;

import io.github.batchnorm.stats.AffineCoefficients;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * The transform of scalar and array columns, built from Spark SQL expressions ({@code (x - mean) * a + beta} with
 * literal coefficients) rather than a UDF, so the optimizer sees through it; whole-stage code generation compiles the
 * scalar form (Spark evaluates the higher-order {@code transform} of arrays outside it, still with no user code).
 * Invalid values: "skip" filters the rows out, "keep" passes each value through, and "error" checks a whole row at once
 * (its sum for scalar columns, its largest element and a search for -Infinity or null for arrays), looking at single
 * values only to name the first invalid one when that check fires.
 */
public final class ColumnNormalizer {
    private static final Column POSITIVE_INFINITY = functions.lit(Double.POSITIVE_INFINITY);

    private ColumnNormalizer() {
    }

    /** Appends the normalised output columns of scalar or array input to {@code dataset}. */
    public static Dataset<Row> transform(Dataset<?> dataset, FeatureInput input, AffineCoefficients coefficients,
            HandleInvalid handleInvalid) {
        return input.kind() == FeatureInput.Kind.SCALARS
                ? transformScalars(dataset, input, coefficients, handleInvalid, false)
                : transformArray(dataset, input, coefficients, handleInvalid, false);
    }

    /**
     * Appends the columns restored by the inverse map, {@code x = (y - beta) / a + mean}, reading the normalised columns
     * as {@code input}'s input columns. Every {@code a} must be non-zero.
     */
    public static Dataset<Row> inverseTransform(Dataset<?> dataset, FeatureInput input, AffineCoefficients coefficients,
            HandleInvalid handleInvalid) {
        return input.kind() == FeatureInput.Kind.SCALARS
                ? transformScalars(dataset, input, coefficients, handleInvalid, true)
                : transformArray(dataset, input, coefficients, handleInvalid, true);
    }

    /**
     * {@code (x - mean) * a + beta}, or its inverse {@code (x - beta) / a + mean}: the same operations in the same
     * order as {@link AffineCoefficients}' loops, so every input form gives the same bits; {@code x * a} and
     * {@code x / a} when centering is off. Double arithmetic throughout (Spark SQL fuses nothing).
     */
    private static Column affine(Column x, Column mean, Column a, Column beta, boolean centering, boolean inverse) {
        if (!centering) {
            return inverse ? x.divide(a) : x.multiply(a);
        }
        return inverse ? x.minus(beta).divide(a).plus(mean) : x.minus(mean).multiply(a).plus(beta);
    }

    /** True for a finite double; false for NaN, infinities (NaN sorts above +Infinity in Spark SQL) and null. */
    private static Column isFinite(Column x) {
        return functions.abs(x).lt(POSITIVE_INFINITY);
    }

    /**
     * Called only for a row whose sum is not finite: fails naming the first invalid value in column order, or answers
     * true when every value is finite (their sum overflowed).
     */
    private static final class FirstInvalidScalar implements UDF1<Row, Boolean> {
        private static final long serialVersionUID = 1L;
        private final String[] inputCols;

        FirstInvalidScalar(String[] inputCols) {
            this.inputCols = inputCols;
        }

        @Override
        public Boolean call(Row row) {
            for (int j = 0; j < inputCols.length; j++) {
                if (row.isNullAt(j) || !Double.isFinite(row.getDouble(j))) {
                    throw new IllegalArgumentException(InvalidValues.scalar(inputCols[j], String.valueOf(row.get(j))));
                }
            }
            return true;
        }
    }

    /**
     * The rows, failing at the first invalid value of {@code inputCols}. One check per row, not one per value: a null,
     * NaN or infinity makes the row's sum null or non-finite. Only then (or when finite values overflow the sum) does a
     * function look at the values one by one, to name the first invalid one or let the row through. Kept out of the
     * compiled expressions, the failure path costs nothing per row; a raise_error per value made the compiled projection
     * slower (see docs/performance.md).
     */
    static Dataset<?> requireValidScalars(Dataset<?> dataset, String[] inputCols) {
        Column[] values = new Column[inputCols.length];
        Column sum = null;
        for (int j = 0; j < inputCols.length; j++) {
            values[j] = ColumnNames.col(inputCols[j]).cast(DataTypes.DoubleType);
            sum = j == 0 ? values[j] : sum.plus(values[j]);
        }
        UserDefinedFunction firstInvalid = functions.udf(new FirstInvalidScalar(inputCols), DataTypes.BooleanType);
        return dataset.filter(functions.when(isFinite(sum), functions.lit(true))
                .otherwise(firstInvalid.apply(functions.struct(values))));
    }

    private static Column describeValue(Column x) {
        return functions.coalesce(x.cast(DataTypes.StringType), functions.lit("null"));
    }

    private static Dataset<Row> transformScalars(Dataset<?> dataset, FeatureInput input, AffineCoefficients coefficients,
            HandleInvalid handleInvalid, boolean inverse) {
        String[] inputCols = input.inputCols();
        String[] outputCols = input.outputCols();
        double[] mean = coefficients.mean();
        double[] scale = coefficients.scale();
        double[] beta = coefficients.beta();
        boolean centering = coefficients.centering();
        Dataset<?> rows = dataset;
        if (handleInvalid == HandleInvalid.SKIP) {
            Column allFinite = functions.lit(true);
            for (String inputCol : inputCols) {
                allFinite = allFinite.and(isFinite(ColumnNames.col(inputCol).cast(DataTypes.DoubleType)));
            }
            rows = dataset.filter(allFinite);
        }
        Column[] values = new Column[inputCols.length];
        for (int j = 0; j < inputCols.length; j++) {
            values[j] = ColumnNames.col(inputCols[j]).cast(DataTypes.DoubleType);
        }
        if (handleInvalid == HandleInvalid.ERROR) {
            rows = requireValidScalars(dataset, inputCols);
        }
        List<Column> columns = new ArrayList<>();
        columns.add(functions.col("*"));
        for (int j = 0; j < inputCols.length; j++) {
            Column x = values[j];
            Column normalized = affine(x, functions.lit(mean[j]), functions.lit(scale[j]), functions.lit(beta[j]),
                    centering, inverse);
            Column output = handleInvalid == HandleInvalid.KEEP
                    ? functions.when(isFinite(x), normalized).otherwise(x)
                    : normalized;
            columns.add(output.as(outputCols[j]));
        }
        return rows.select(columns.toArray(new Column[0]));
    }

    /**
     * The element-wise map of an array column; under "error" each element is checked, and "skip" maps without checks
     * (its rows were filtered before).
     */
    private static Column normalizeElements(Column array, FeatureInput input, AffineCoefficients coefficients,
            HandleInvalid handleInvalid, boolean inverse) {
        String inputCol = input.inputCol();
        Column mean = functions.lit(coefficients.mean());
        Column scale = functions.lit(coefficients.scale());
        Column beta = functions.lit(coefficients.beta());
        boolean centering = coefficients.centering();
        DataType elementType = input.floatElements() ? DataTypes.FloatType : DataTypes.DoubleType;
        return functions.transform(array, (element, index) -> {
            Column x = element.cast(DataTypes.DoubleType);
            // apply, not getItem: Spark 3.5's getItem takes a literal key only, not the lambda's index column.
            Column y = affine(x, mean.apply(index), scale.apply(index), beta.apply(index), centering, inverse);
            if (input.floatElements()) {
                // Computed in double from the float's exact value, so the cast is the one rounding to float.
                y = y.cast(elementType);
            }
            switch (handleInvalid) {
                case ERROR:
                    return functions.when(isFinite(x), y).otherwise(functions.raise_error(functions.concat(
                            functions.lit("Input column '" + inputCol + "' has an invalid value "), describeValue(x),
                            functions.lit(" at index "), index.cast(DataTypes.StringType),
                            functions.lit("." + InvalidValues.ADVICE))).cast(elementType));
                case KEEP:
                    return functions.when(isFinite(x), y).otherwise(element);
                default:
                    return y;
            }
        });
    }

    /**
     * True when no element is null, NaN or infinite, in two compiled passes over the array: the largest element (NaN
     * sorts above +Infinity in Spark SQL) is below +Infinity, and looking for -Infinity finds neither it nor a null
     * (array_contains answers null then). Null or false when one is there, or when every element is null.
     */
    private static Column allFinite(Column array, boolean floatElements) {
        Column positiveInfinity = functions.lit(floatElements ? (Object) Float.POSITIVE_INFINITY : Double.POSITIVE_INFINITY);
        Column negativeInfinity = functions.lit(floatElements ? (Object) Float.NEGATIVE_INFINITY : Double.NEGATIVE_INFINITY);
        return functions.array_max(array).lt(positiveInfinity)
                .and(functions.not(functions.array_contains(array, negativeInfinity)));
    }

    private static Dataset<Row> transformArray(Dataset<?> dataset, FeatureInput input, AffineCoefficients coefficients,
            HandleInvalid handleInvalid, boolean inverse) {
        String inputCol = input.inputCol();
        int numFeatures = coefficients.numFeatures();
        Column array = ColumnNames.col(inputCol);
        DataType elementType = input.floatElements() ? DataTypes.FloatType : DataTypes.DoubleType;
        DataType outputType = DataTypes.createArrayType(elementType, true);
        Dataset<?> rows = dataset;
        if (handleInvalid == HandleInvalid.SKIP) {
            rows = dataset.filter(array.isNotNull()
                    .and(functions.forall(array, x -> isFinite(x.cast(DataTypes.DoubleType)))));
        }
        Column normalized = normalizeElements(array, input, coefficients, handleInvalid, inverse);
        Column sizeError = InvalidValues.arrayLengthError(inputCol, array, numFeatures);
        Column nullRow = handleInvalid == HandleInvalid.ERROR
                ? functions.raise_error(functions.lit(InvalidValues.nullRow(inputCol, "array")))
                : functions.lit(null);
        Column output = functions.when(array.isNull(), nullRow.cast(outputType))
                .when(functions.size(array).notEqual(numFeatures), sizeError.cast(outputType));
        if (handleInvalid == HandleInvalid.ERROR) {
            // One check per row in compiled code; the interpreted per-element check runs only for a row it rejects,
            // to name the element.
            output = output.when(allFinite(array, input.floatElements()),
                    normalizeElements(array, input, coefficients, HandleInvalid.SKIP, inverse));
        }
        output = output.otherwise(normalized);
        return rows.select(functions.col("*"), output.as(input.outputCols()[0]));
    }
}
