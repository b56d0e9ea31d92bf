package io.github.batchnorm.spark;

import io.github.batchnorm.stats.AffineCoefficients;
import io.github.batchnorm.stats.VarianceMode;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF3;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The per-group transform: each row is normalised with the coefficients of its group, {@code (x - mean) * a + beta}
 * with {@code a = gamma / sqrt(variance + epsilon)}.
 *
 * <p>The coefficients are computed per group from the statistics table (a group with fewer than {@code minGroupCount}
 * training rows, or a feature with no valid value in its group, gets those of all training rows), and joined to the data
 * on the group columns with null-safe equality, so a null group value matches the null group, as in SQL
 * {@code GROUP BY}. With few groups the coefficient table is broadcast (a hash join with no shuffle of the data); with
 * many it stays distributed and Spark joins by key, so the driver never holds all groups (see
 * {@link #BROADCAST_BYTES}). Rows of groups the fit did not see fail, take the global coefficients, or are dropped,
 * by {@code handleUnseenGroup}.
 */
public final class GroupedNormalizer {
    /**
     * The estimated size of the coefficient table (16 bytes per feature and group, plus 64 per group for its key and
     * row) up to which it is broadcast: every executor and the driver hold a broadcast table whole, so it is kept well
     * below a default 1 GB driver; beyond it, a distributed join costs a shuffle of the data but no memory per group.
     */
    public static final long BROADCAST_BYTES = 64L << 20;

    /** The session setting that overrides {@link #BROADCAST_BYTES}, in bytes. */
    public static final String BROADCAST_BYTES_CONF = "spark.batchnorm.groupBroadcastBytes";

    private static final List<DataType> INTEGRAL = List.of(DataTypes.LongType, DataTypes.IntegerType,
            DataTypes.ShortType, DataTypes.ByteType);

    private static final String SUB = "__bn_sub";
    private static final String SCALE = "__bn_a";
    private static final String SEEN = "__bn_seen";
    private static final String GROUP_PREFIX = "__bn_g";

    private GroupedNormalizer() {
    }

    /**
     * Everything the transform needs besides the data.
     *
     * @param input the resolved columns; for the inverse, its inputs are the normalised columns
     * @param global the coefficients of all training rows, under the model's current params
     * @param gamma per-feature gamma, expanded (one per feature)
     * @param handleUnseenGroup "error", "global" or "skip"
     */
    public record Settings(FeatureInput input, GroupedStatistics groups, AffineCoefficients global, double[] gamma,
            double epsilon, boolean scaling, VarianceMode mode, int minGroupCount, String handleUnseenGroup,
            HandleInvalid handleInvalid, Metadata vectorMetadata) {
    }

    /** Appends the normalised column(s), or with {@code inverse} the restored ones. */
    public static Dataset<Row> transform(Dataset<?> dataset, Settings settings, boolean inverse) {
        FeatureInput input = settings.input();
        GroupedStatistics groups = settings.groups();
        String[] groupCols = groups.groupCols();
        for (String name : groupCols) {
            if (!List.of(dataset.schema().fieldNames()).contains(name)) {
                throw new IllegalArgumentException("Group column '" + name + "' does not exist. Available columns: "
                        + String.join(", ", dataset.schema().fieldNames()) + ".");
            }
        }
        Dataset<Row> coefficients = coefficients(settings);
        long estimatedBytes = groups.groupCount() * (16L * groups.numFeatures() + 64L);
        long broadcastBytes = Long.parseLong(dataset.sparkSession().conf().get(BROADCAST_BYTES_CONF,
                Long.toString(BROADCAST_BYTES)));
        // Beyond the limit, a sort-merge join is asked for explicitly: left to itself, Spark may still decide at run
        // time to broadcast a table under its own (smaller) threshold, which goes through the driver.
        coefficients = estimatedBytes <= broadcastBytes ? functions.broadcast(coefficients) : coefficients.hint("merge");
        Dataset<?> rows = settings.handleInvalid() == HandleInvalid.SKIP ? dataset.filter(allValid(input)) : dataset;
        // Scalar columns under "error" are checked once per row before the join, as the global transform checks them,
        // rather than value by value in every output column (which measured about a third slower on 8 columns).
        boolean checkedRows = settings.handleInvalid() == HandleInvalid.ERROR
                && input.kind() == FeatureInput.Kind.SCALARS;
        if (checkedRows) {
            rows = ColumnNormalizer.requireValidScalars(rows, input.inputCols());
        }
        Column condition = joinCondition(groups.groupFields());
        boolean dropUnseen = "skip".equals(settings.handleUnseenGroup());
        Dataset<Row> joined = rows.join(coefficients, condition, dropUnseen ? "inner" : "left");
        Column sub = functions.col(SUB);
        Column scale = functions.col(SCALE);
        if ("global".equals(settings.handleUnseenGroup())) {
            sub = functions.coalesce(sub, functions.lit(settings.global().mean()));
            scale = functions.coalesce(scale, functions.lit(settings.global().scale()));
        }
        boolean unseenFails = "error".equals(settings.handleUnseenGroup());
        if (unseenFails && input.kind() == FeatureInput.Kind.SCALARS) {
            // Checked once per row, in a projection of its own, rather than in every output column: repeated in each
            // column, the check and its message made the transform several times slower (measured with 8 columns).
            joined = joined.withColumn(SUB, functions.when(functions.col(SEEN).isNull(), unseenError(groupCols)
                    .cast(DataTypes.createArrayType(DataTypes.DoubleType, true))).otherwise(sub));
            sub = functions.col(SUB);
        }
        Column unseen = unseenFails && input.kind() != FeatureInput.Kind.SCALARS ? unseenError(groupCols) : null;
        List<Column> columns = new ArrayList<>();
        for (String name : dataset.schema().fieldNames()) {
            columns.add(ColumnNames.col(name));
        }
        double[] beta = settings.global().beta();
        boolean centering = settings.global().centering();
        String[] outputs = input.outputCols();
        switch (input.kind()) {
            case SCALARS:
                String[] inputs = input.inputCols();
                for (int j = 0; j < inputs.length; j++) {
                    Column x = ColumnNames.col(inputs[j]).cast(DataTypes.DoubleType);
                    Column y = affine(x, sub.apply(j), scale.apply(j), functions.lit(beta[j]), centering, inverse);
                    Column output = checkedRows ? y : invalid(settings.handleInvalid(), x, y,
                            InvalidValuesText.scalar(inputs[j]), null, DataTypes.DoubleType);
                    columns.add(guard(unseen, output, DataTypes.DoubleType).as(outputs[j]));
                }
                break;
            case ARRAY:
                columns.add(guard(unseen, array(input, sub, scale, beta, centering, settings, inverse),
                        DataTypes.createArrayType(input.floatElements() ? DataTypes.FloatType : DataTypes.DoubleType,
                                true)).as(outputs[0]));
                break;
            default:
                UserDefinedFunction udf = functions.udf(new NormalizeVector(input.inputCol(), settings.handleInvalid(),
                        beta, centering, inverse, groups.numFeatures()), SQLDataTypes.VectorType());
                Column vector = udf.apply(ColumnNames.col(input.inputCol()),
                        org.apache.spark.ml.functions.array_to_vector(sub),
                        org.apache.spark.ml.functions.array_to_vector(scale));
                columns.add(guard(unseen, vector, SQLDataTypes.VectorType()).as(outputs[0], settings.vectorMetadata()));
        }
        Dataset<Row> output = joined.select(columns.toArray(new Column[0]));
        if (input.kind() == FeatureInput.Kind.VECTOR && settings.handleInvalid() == HandleInvalid.SKIP) {
            output = output.filter(ColumnNames.col(outputs[0]).isNotNull());
        }
        return output;
    }

    /**
     * Null-safe equality of the data's group columns and the table's. Spark joins on {@code a <=> b} by the pair
     * {@code (coalesce(a, 0), isnull(a))}, hashed as a row; for one integral column, the key here is
     * {@code coalesce(a, 0)} alone, which Spark looks up in a table keyed by a long, and the null group is told from
     * group 0 by a condition after the lookup, written as a {@code CASE} so that it is not taken as a second key. With
     * the long key the same join written by hand took two thirds of the time (10,000 groups).
     */
    private static Column joinCondition(StructType groupFields) {
        StructField[] fields = groupFields.fields();
        if (fields.length == 1 && INTEGRAL.contains(fields[0].dataType())) {
            Column data = ColumnNames.col(fields[0].name());
            Column table = functions.col(GROUP_PREFIX + 0);
            Column zero = functions.lit(0L);
            return functions.coalesce(data, zero).equalTo(functions.coalesce(table, zero))
                    .and(functions.when(data.isNull(), table.isNull()).otherwise(table.isNotNull()));
        }
        Column condition = functions.lit(true);
        for (int i = 0; i < fields.length; i++) {
            condition = condition.and(ColumnNames.col(fields[i].name()).eqNullSafe(functions.col(GROUP_PREFIX + i)));
        }
        return condition;
    }

    /** Per group: the group columns (renamed), the arrays of subtracted means and of scales, and a marker of a match. */
    private static Dataset<Row> coefficients(Settings settings) {
        GroupedStatistics groups = settings.groups();
        Column weight = functions.col(GroupedStatistics.WEIGHT_SUM);
        Column weightSquare = functions.col(GroupedStatistics.WEIGHT_SQUARE_SUM);
        Column ownStatistics = functions.col(GroupedStatistics.ROW_COUNT).geq(settings.minGroupCount());
        Column gamma = functions.lit(settings.gamma());
        Column globalSub = functions.lit(settings.global().mean());
        Column globalScale = functions.lit(settings.global().scale());
        boolean centering = settings.global().centering();
        Column scale = functions.transform(functions.col(GroupedStatistics.VARIANCE), (v, i) -> {
            Column own = ownStatistics.and(weight.apply(i).gt(0.0));
            Column variance = settings.mode() == VarianceMode.POPULATION ? v
                    : GroupedStatistics.sampleVariance(weight.apply(i), weightSquare.apply(i), v);
            Column root = functions.sqrt(variance.plus(settings.epsilon()));
            Column ownScale = settings.scaling()
                    ? functions.when(root.equalTo(0.0), functions.lit(0.0)).otherwise(gamma.apply(i).divide(root))
                    : functions.lit(1.0);
            return functions.when(own, ownScale).otherwise(globalScale.apply(i));
        });
        List<Column> columns = new ArrayList<>();
        String[] groupCols = groups.groupCols();
        for (int i = 0; i < groupCols.length; i++) {
            columns.add(ColumnNames.col(groupCols[i]).as(GROUP_PREFIX + i));
        }
        columns.add(scale.as(SCALE));
        columns.add(functions.col(GroupedStatistics.MEAN));
        columns.add(weight);
        columns.add(functions.col(GroupedStatistics.ROW_COUNT));
        Column scaleColumn = functions.col(SCALE);
        Column sub = functions.transform(functions.col(GroupedStatistics.MEAN), (m, i) -> {
            Column own = ownStatistics.and(weight.apply(i).gt(0.0));
            // A zero scale sends every x to beta; subtracting nothing keeps a huge x from making (x - mean) * 0 NaN.
            Column ownSub = centering ? functions.when(scaleColumn.apply(i).equalTo(0.0), functions.lit(0.0))
                    .otherwise(m) : functions.lit(0.0);
            return functions.when(own, ownSub).otherwise(globalSub.apply(i));
        });
        List<Column> result = new ArrayList<>();
        for (int i = 0; i < groupCols.length; i++) {
            result.add(functions.col(GROUP_PREFIX + i));
        }
        result.add(sub.as(SUB));
        result.add(scaleColumn);
        result.add(functions.lit(true).as(SEEN));
        return groups.table().select(columns.toArray(new Column[0])).select(result.toArray(new Column[0]));
    }

    /** The failure for a row whose group the fit did not see, naming the group's values. */
    private static Column unseenError(String[] groupCols) {
        List<Column> parts = new ArrayList<>();
        parts.add(functions.lit("Group ("));
        for (int i = 0; i < groupCols.length; i++) {
            parts.add(functions.lit((i == 0 ? "" : ", ") + groupCols[i] + "="));
            parts.add(functions.coalesce(ColumnNames.col(groupCols[i]).cast(DataTypes.StringType),
                    functions.lit("null")));
        }
        parts.add(functions.lit(") was not seen in the fit. Set handleUnseenGroup to 'global' to use the statistics of"
                + " all training rows, or to 'skip' to drop such rows."));
        return functions.raise_error(functions.concat(parts.toArray(new Column[0])));
    }

    private static Column guard(Column unseenError, Column output, DataType type) {
        return unseenError == null ? output
                : functions.when(functions.col(SEEN).isNull(), unseenError.cast(type)).otherwise(output);
    }

    /** The same operations in the same order as the global transform's (see {@code ColumnNormalizer}). */
    private static Column affine(Column x, Column sub, Column scale, Column beta, boolean centering, boolean inverse) {
        if (!centering) {
            return inverse ? x.divide(scale) : x.multiply(scale);
        }
        return inverse ? x.minus(beta).divide(scale).plus(sub) : x.minus(sub).multiply(scale).plus(beta);
    }

    private static Column isFinite(Column x) {
        return functions.abs(x).lt(functions.lit(Double.POSITIVE_INFINITY));
    }

    /** The row filter of {@code handleInvalid = skip} for scalar and array input (Vectors are filtered after). */
    private static Column allValid(FeatureInput input) {
        switch (input.kind()) {
            case SCALARS:
                Column all = functions.lit(true);
                for (String name : input.inputCols()) {
                    all = all.and(isFinite(ColumnNames.col(name).cast(DataTypes.DoubleType)));
                }
                return all;
            case ARRAY:
                Column array = ColumnNames.col(input.inputCol());
                return array.isNotNull().and(functions.forall(array, x -> isFinite(x.cast(DataTypes.DoubleType))));
            default:
                return functions.lit(true);
        }
    }

    private static Column invalid(HandleInvalid handleInvalid, Column x, Column y, Column message, Column original,
            DataType type) {
        switch (handleInvalid) {
            case ERROR:
                return functions.when(isFinite(x), y).otherwise(functions.raise_error(functions.concat(message,
                        describeValue(x), functions.lit("." + InvalidValues.ADVICE))).cast(type));
            case KEEP:
                return functions.when(isFinite(x), y).otherwise(original == null ? x : original);
            default:
                return y;
        }
    }

    private static Column describeValue(Column x) {
        return functions.coalesce(x.cast(DataTypes.StringType), functions.lit("null"));
    }

    private static Column array(FeatureInput input, Column sub, Column scale, double[] beta, boolean centering,
            Settings settings, boolean inverse) {
        String inputCol = input.inputCol();
        int numFeatures = settings.groups().numFeatures();
        Column array = ColumnNames.col(inputCol);
        Column betas = functions.lit(beta);
        DataType elementType = input.floatElements() ? DataTypes.FloatType : DataTypes.DoubleType;
        DataType outputType = DataTypes.createArrayType(elementType, true);
        Column normalized = functions.transform(array, (element, index) -> {
            Column x = element.cast(DataTypes.DoubleType);
            Column y = affine(x, sub.apply(index), scale.apply(index), betas.apply(index), centering, inverse);
            if (input.floatElements()) {
                y = y.cast(elementType);
            }
            Column message = functions.concat(functions.lit("Input column '" + inputCol + "' has an invalid value "));
            if (settings.handleInvalid() == HandleInvalid.ERROR) {
                return functions.when(isFinite(x), y).otherwise(functions.raise_error(functions.concat(message,
                        describeValue(x), functions.lit(" at index "), index.cast(DataTypes.StringType),
                        functions.lit("." + InvalidValues.ADVICE))).cast(elementType));
            }
            return invalid(settings.handleInvalid(), x, y, message, element, elementType);
        });
        Column sizeError = InvalidValues.arrayLengthError(inputCol, array, numFeatures);
        Column nullRow = settings.handleInvalid() == HandleInvalid.ERROR
                ? functions.raise_error(functions.lit(InvalidValues.nullRow(inputCol, "array")))
                : functions.lit(null);
        return functions.when(array.isNull(), nullRow.cast(outputType))
                .when(functions.size(array).notEqual(numFeatures), sizeError.cast(outputType))
                .otherwise(normalized);
    }

    /** Messages of invalid scalar values, as the global transform words them. */
    private static final class InvalidValuesText {
        static Column scalar(String column) {
            return functions.lit("Input column '" + column + "' has an invalid value ");
        }
    }

    /** Normalises one vector with its group's coefficients; a sparse vector stays sparse when nothing is subtracted. */
    private static final class NormalizeVector implements UDF3<Vector, Vector, Vector, Vector> {
        private static final long serialVersionUID = 1L;
        private final String inputCol;
        private final HandleInvalid handleInvalid;
        private final double[] beta;
        private final boolean centering;
        private final boolean inverse;
        private final int numFeatures;

        NormalizeVector(String inputCol, HandleInvalid handleInvalid, double[] beta, boolean centering, boolean inverse,
                int numFeatures) {
            this.inputCol = inputCol;
            this.handleInvalid = handleInvalid;
            this.beta = beta;
            this.centering = centering;
            this.inverse = inverse;
            this.numFeatures = numFeatures;
        }

        @Override
        public Vector call(Vector vector, Vector subVector, Vector scaleVector) {
            if (vector == null) {
                if (handleInvalid == HandleInvalid.ERROR) {
                    throw new IllegalArgumentException(InvalidValues.nullRow(inputCol, "vector"));
                }
                return null;
            }
            if (subVector == null || scaleVector == null) {
                // An unseen group under "error" or "skip": the row fails or is dropped outside this function.
                return null;
            }
            if (vector.size() != numFeatures) {
                throw new IllegalArgumentException(InvalidValues.vectorSize(inputCol, vector.size(), numFeatures));
            }
            double[] sub = subVector.toArray();
            double[] scale = scaleVector.toArray();
            if (vector instanceof SparseVector && !centering) {
                SparseVector sparse = (SparseVector) vector;
                double[] values = sparse.values();
                double[] out = new double[values.length];
                for (int k = 0; k < values.length; k++) {
                    int j = sparse.indices()[k];
                    if (!valid(values[k], j)) {
                        if (handleInvalid == HandleInvalid.SKIP) {
                            return null;
                        }
                        out[k] = values[k];
                    } else {
                        out[k] = inverse ? values[k] / scale[j] : values[k] * scale[j];
                    }
                }
                return new SparseVector(sparse.size(), sparse.indices(), out);
            }
            double[] values = vector.toArray();
            double[] out = new double[values.length];
            for (int j = 0; j < values.length; j++) {
                double x = values[j];
                if (!valid(x, j)) {
                    if (handleInvalid == HandleInvalid.SKIP) {
                        return null;
                    }
                    out[j] = x;
                } else if (!centering) {
                    out[j] = inverse ? x / scale[j] : x * scale[j];
                } else {
                    out[j] = inverse ? (x - beta[j]) / scale[j] + sub[j] : (x - sub[j]) * scale[j] + beta[j];
                }
            }
            return new DenseVector(out);
        }

        private boolean valid(double x, int index) {
            if (Double.isFinite(x)) {
                return true;
            }
            if (handleInvalid == HandleInvalid.ERROR) {
                throw new IllegalArgumentException(InvalidValues.element(inputCol, index, Double.toString(x)));
            }
            return false;
        }
    }
}
