package io.github.batchnorm.spark;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.UserDefinedType;

/**
 * The group columns of a per-group stage, checked against a schema before any work: each must exist, be named once, not
 * be one of the stage's input, weight or output columns, and have a type Spark can group by.
 */
public final class GroupColumns {
    private GroupColumns() {
    }

    /**
     * The group columns' fields, in the order given.
     *
     * @param used the stage's input, weight and output columns, none of which may be a group column
     * @throws IllegalArgumentException naming the column that is missing, repeated, used otherwise, reserved by the
     *     statistics table, or of a type that cannot be grouped (a map, or anything holding one)
     */
    public static StructType resolve(StructType schema, String[] groupCols, List<String> used) {
        List<String> available = Arrays.asList(schema.fieldNames());
        Set<String> seen = new HashSet<>();
        StructType fields = new StructType();
        for (String name : groupCols) {
            if (!available.contains(name)) {
                throw new IllegalArgumentException("Group column '" + name + "' does not exist. Available columns: "
                        + String.join(", ", available) + ".");
            }
            if (!seen.add(name)) {
                throw new IllegalArgumentException("Group column '" + name + "' is named more than once in groupCols.");
            }
            if (used.contains(name)) {
                throw new IllegalArgumentException("Group column '" + name + "' is also an input, weight or output"
                        + " column; a column cannot both define the groups and be normalised or weigh rows.");
            }
            if (GroupedStatistics.RESERVED_NAMES.contains(name)) {
                throw new IllegalArgumentException("Group column '" + name + "' has the name of a column of the group"
                        + " statistics table (" + String.join(", ", GroupedStatistics.RESERVED_NAMES) + "); rename it.");
            }
            StructField field = schema.apply(name);
            if (!groupable(field.dataType())) {
                throw new IllegalArgumentException("Group column '" + name + "' has type "
                        + field.dataType().catalogString() + ", which cannot define groups (maps cannot be compared);"
                        + " use numbers, strings, dates, timestamps or booleans.");
            }
            fields = fields.add(field);
        }
        return fields;
    }

    /** Whether Spark's GROUP BY accepts the type: anything but a map, at any depth. */
    private static boolean groupable(DataType type) {
        if (type instanceof MapType) {
            return false;
        }
        if (type instanceof ArrayType) {
            return groupable(((ArrayType) type).elementType());
        }
        if (type instanceof UserDefinedType) {
            return groupable(((UserDefinedType<?>) type).sqlType());
        }
        if (type instanceof StructType) {
            for (StructField field : ((StructType) type).fields()) {
                if (!groupable(field.dataType())) {
                    return false;
                }
            }
        }
        return true;
    }
}
