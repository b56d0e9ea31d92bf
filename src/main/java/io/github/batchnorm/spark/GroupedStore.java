package io.github.batchnorm.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Where a model's per-group statistics live on disk: the statistics table as Parquet under {@code path/groups}, next to
 * the model's {@code metadata} and {@code data} (which hold the params and the statistics of all training rows). A model
 * without that folder, such as every model saved before groups existed, has no groups.
 */
public final class GroupedStore {
    private static final String GROUPS = "groups";

    private GroupedStore() {
    }

    /** Writes the table from the executors; the driver never holds it. */
    public static void save(GroupedStatistics groups, String path) {
        groups.table().write().parquet(new Path(path, GROUPS).toString());
    }

    /**
     * The saved groups, or null when the model has none.
     *
     * @throws IllegalArgumentException naming the path if the folder does not hold a statistics table
     */
    public static GroupedStatistics load(String path, SparkSession spark, int numFeatures) {
        Path folder = new Path(path, GROUPS);
        try {
            FileSystem fs = folder.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.exists(folder)) {
                return null;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + folder + ": " + e.getMessage(), e);
        }
        Dataset<Row> table = spark.read().parquet(folder.toString());
        List<String> names = List.of(table.schema().fieldNames());
        if (!names.containsAll(GroupedStatistics.RESERVED_NAMES)) {
            throw new IllegalArgumentException(folder + " is not a table of group statistics: it has the columns "
                    + String.join(", ", names) + ".");
        }
        List<StructField> groupFields = new ArrayList<>();
        for (StructField field : table.schema().fields()) {
            if (!GroupedStatistics.RESERVED_NAMES.contains(field.name())) {
                groupFields.add(field);
            }
        }
        // Parquet's own row counts answer this without reading the statistics.
        return new GroupedStatistics(table, new StructType(groupFields.toArray(new StructField[0])), table.count(),
                numFeatures);
    }
}
