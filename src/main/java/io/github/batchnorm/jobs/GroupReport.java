package io.github.batchnorm.jobs;

import io.github.batchnorm.BatchNormalizationModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * How {@code describe} summarises a model's groups: how many, their sizes, and the largest and smallest group. Computed
 * by Spark over the group statistics, so only these few numbers reach the driver, however many groups there are.
 */
final class GroupReport {
    private GroupReport() {
    }

    /** The summary lines, or an empty string for a model without groups. */
    static String text(BatchNormalizationModel model) {
        if (!model.isGrouped()) {
            return "";
        }
        String[] groupCols = model.getGroupCols().length > 0 ? model.getGroupCols()
                : model.groupedStatistics().groupCols();
        Dataset<Row> groups = model.groupStatistics();
        Row sizes = groups.agg(functions.min("count"), functions.expr("percentile_approx(count, 0.5)"),
                functions.max("count")).head();
        Row largest = groups.orderBy(functions.col("count").desc()).head();
        Row smallest = groups.orderBy(functions.col("count").asc()).head();
        return String.format(Locale.ROOT, "groups by %s: %d; training rows per group: smallest %d, median %d, largest %d"
                + "%nlargest group %s, smallest group %s; minGroupCount %d (smaller groups use the statistics of all rows)%n",
                String.join(", ", groupCols), model.groupCount(), sizes.getLong(0), sizes.getLong(1), sizes.getLong(2),
                describe(largest, groupCols), describe(smallest, groupCols), model.getMinGroupCount());
    }

    private static String describe(Row row, String[] groupCols) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < groupCols.length; i++) {
            parts.add(groupCols[i] + "=" + row.get(i));
        }
        return "(" + String.join(", ", parts) + ") with " + row.getAs("count") + " rows";
    }
}
