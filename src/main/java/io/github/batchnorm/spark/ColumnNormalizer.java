package io.github.batchnorm.spark;

import io.github.batchnorm.stats.AffineCoefficients;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * The transform of scalar and array columns, built from Spark SQL expressions ({@code (x - mean) * a + beta} with
 * literal coefficients) rather than a UDF, so the optimizer sees through it; whole-stage code generation compiles the
 * scalar form (Spark evaluates the higher-order {@code transform} of arrays outside it, still with no user code).
 * Invalid values are handled in the same expressions: {@code raise_error} for "error", a filter for "skip", a
 * pass-through for "keep".
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
        List<Column> columns = new ArrayList<>();
        columns.add(functions.col("*"));
        for (int j = 0; j < inputCols.length; j++) {
            Column x = ColumnNames.col(inputCols[j]).cast(DataTypes.DoubleType);
            Column normalized = affine(x, functions.lit(mean[j]), functions.lit(scale[j]), functions.lit(beta[j]),
                    centering, inverse);
            Column output;
            switch (handleInvalid) {
                case ERROR:
                    output = functions.when(isFinite(x), normalized).otherwise(functions.raise_error(functions.concat(
                            functions.lit("Input column '" + inputCols[j] + "' has an invalid value "), describeValue(x),
                            functions.lit("." + InvalidValues.ADVICE))).cast(DataTypes.DoubleType));
                    break;
                case KEEP:
                    output = functions.when(isFinite(x), normalized).otherwise(x);
                    break;
                default:
                    output = normalized;
            }
            columns.add(output.as(outputCols[j]));
        }
        return rows.select(columns.toArray(new Column[0]));
    }

    private static Dataset<Row> transformArray(Dataset<?> dataset, FeatureInput input, AffineCoefficients coefficients,
            HandleInvalid handleInvalid, boolean inverse) {
        String inputCol = input.inputCol();
        int numFeatures = coefficients.numFeatures();
        Column array = ColumnNames.col(inputCol);
        Column mean = functions.lit(coefficients.mean());
        Column scale = functions.lit(coefficients.scale());
        Column beta = functions.lit(coefficients.beta());
        boolean centering = coefficients.centering();
        DataType elementType = input.floatElements() ? DataTypes.FloatType : DataTypes.DoubleType;
        DataType outputType = DataTypes.createArrayType(elementType, true);
        Dataset<?> rows = dataset;
        if (handleInvalid == HandleInvalid.SKIP) {
            rows = dataset.filter(array.isNotNull()
                    .and(functions.forall(array, x -> isFinite(x.cast(DataTypes.DoubleType)))));
        }
        Column normalized = functions.transform(array, (element, index) -> {
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
        Column sizeError = functions.raise_error(functions.concat(
                functions.lit("Input column '" + inputCol + "' has an array of length "),
                functions.size(array).cast(DataTypes.StringType),
                functions.lit(", but the model was fitted on " + numFeatures + " features.")));
        Column nullRow = handleInvalid == HandleInvalid.ERROR
                ? functions.raise_error(functions.lit(InvalidValues.nullRow(inputCol, "array")))
                : functions.lit(null);
        Column output = functions.when(array.isNull(), nullRow.cast(outputType))
                .when(functions.size(array).notEqual(numFeatures), sizeError.cast(outputType))
                .otherwise(normalized);
        return rows.select(functions.col("*"), output.as(input.outputCols()[0]));
    }
}
