package io.github.batchnorm.spark;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;

/**
 * Column names as literal names. Spark parses the string given to {@code functions.col}: a dot reads as a struct field,
 * a backtick starts a quoted part, so {@code col("age.years")} looks for field {@code years} of a column {@code age}.
 * Every name this library takes from a param or an option is a whole column name, and reaches Spark only through here.
 */
public final class ColumnNames {
    private ColumnNames() {
    }

    /** The name in backticks, with backticks inside doubled: how Spark's parser reads a name as one literal part. */
    public static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    /** The column of that exact name. */
    public static Column col(String name) {
        return functions.col(quote(name));
    }
}
