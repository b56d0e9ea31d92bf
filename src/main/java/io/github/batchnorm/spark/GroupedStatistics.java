package io.github.batchnorm.spark;

import io.github.batchnorm.stats.VarianceMode;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Per-group statistics as a distributed table, never collected to the driver: one row per group, with the group
 * columns, {@code rowCount} (the group's training rows of positive weight) and per-feature arrays {@code count},
 * {@code weightSum}, {@code weightSquareSum}, {@code mean} and the population {@code variance}. A feature with no valid
 * value in a group has weight 0 there (and the transform uses the statistics of all training rows for it).
 *
 * <p>The table is the fit's result, cached, or a saved model's Parquet file: either way reading it does not refit.
 */
public final class GroupedStatistics {
    static final String ROW_COUNT = "rowCount";
    static final String COUNT = "count";
    static final String WEIGHT_SUM = "weightSum";
    static final String WEIGHT_SQUARE_SUM = "weightSquareSum";
    static final String MEAN = "mean";
    static final String VARIANCE = "variance";
    /** Names a group column may not have, since the statistics table uses them. */
    public static final List<String> RESERVED_NAMES = List.of(ROW_COUNT, COUNT, WEIGHT_SUM, WEIGHT_SQUARE_SUM, MEAN,
            VARIANCE);

    private final Dataset<Row> table;
    private final StructType groupFields;
    private final long groupCount;
    private final int numFeatures;

    public GroupedStatistics(Dataset<Row> table, StructType groupFields, long groupCount, int numFeatures) {
        this.table = table;
        this.groupFields = groupFields;
        this.groupCount = groupCount;
        this.numFeatures = numFeatures;
    }

    /** The schema of the table for these group fields. */
    static StructType tableSchema(StructType groupFields) {
        StructType schema = new StructType();
        for (StructField field : groupFields.fields()) {
            schema = schema.add(field.name(), field.dataType(), true);
        }
        return schema.add(ROW_COUNT, DataTypes.LongType, false)
                .add(COUNT, DataTypes.createArrayType(DataTypes.LongType, false), false)
                .add(WEIGHT_SUM, DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                .add(WEIGHT_SQUARE_SUM, DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                .add(MEAN, DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                .add(VARIANCE, DataTypes.createArrayType(DataTypes.DoubleType, false), false);
    }

    /** The stored table (see the class comment). */
    public Dataset<Row> table() {
        return table;
    }

    /** The group columns' names and types, as fitted. */
    public StructType groupFields() {
        return groupFields;
    }

    public String[] groupCols() {
        return groupFields.fieldNames();
    }

    /** Number of groups. */
    public long groupCount() {
        return groupCount;
    }

    public int numFeatures() {
        return numFeatures;
    }

    /**
     * The table as users read it: the group columns, {@code count} (training rows) and per-feature {@code mean} and
     * {@code variance} in {@code mode}; a feature with no valid value in a group has a null mean and variance.
     */
    public Dataset<Row> publicFrame(VarianceMode mode) {
        List<Column> columns = new ArrayList<>();
        for (String name : groupCols()) {
            columns.add(ColumnNames.col(name));
        }
        columns.add(functions.col(ROW_COUNT).as(COUNT));
        Column weight = functions.col(WEIGHT_SUM);
        columns.add(functions.transform(functions.col(MEAN), (m, i) -> functions.when(weight.apply(i).gt(0.0), m))
                .as(MEAN));
        columns.add(functions.transform(functions.col(VARIANCE), (v, i) -> functions.when(weight.apply(i).gt(0.0),
                mode == VarianceMode.POPULATION ? v
                        : sampleVariance(weight.apply(i), functions.col(WEIGHT_SQUARE_SUM).apply(i), v)))
                .as(VARIANCE));
        return table.select(columns.toArray(new Column[0]));
    }

    /**
     * The sample variance from the weight, squared weight and population variance, as {@code FeatureStatistics}
     * computes it: {@code W - 1} for unit weights, {@code W - sum(w^2)/W} otherwise; 0 when that is not positive.
     */
    static Column sampleVariance(Column w, Column w2, Column populationVariance) {
        Column corrected = functions.when(w2.equalTo(w), w.minus(1.0)).otherwise(w.minus(w2.divide(w)));
        return functions.when(corrected.gt(0.0), populationVariance.multiply(w.divide(corrected)))
                .otherwise(functions.lit(0.0));
    }
}
