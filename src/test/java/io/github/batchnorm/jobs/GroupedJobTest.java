package io.github.batchnorm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.testing.SparkTestSession;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line's group options and describe's group summary. */
class GroupedJobTest {
    private static final SparkSession SPARK = SparkTestSession.get();

    @TempDir
    Path directory;

    @Test
    void fitWithGroupColsSavesPerGroupStatisticsAndDescribeSummarisesThem() {
        String input = directory.resolve("in.parquet").toString();
        // Group g = id % 3 has 34, 33 and 33 rows; a = 10 * g + (id / 3) makes each group's mean its own.
        SPARK.range(100).select(functions.col("id").mod(3).as("g"),
                functions.col("id").mod(3).multiply(10).plus(functions.floor(functions.col("id").divide(3))).as("a"))
                .write().parquet(input);
        String model = directory.resolve("model").toString();
        JobRun fit = JobRun.of("fit", "--input", input, "--input-cols", "a", "--group-cols", "g", "--min-group-count",
                "2", "--handle-unseen-group", "global", "--model", model);
        assertEquals(0, fit.exitCode(), fit.err());
        BatchNormalizationModel loaded = BatchNormalizationModel.load(model);
        assertEquals(3, loaded.groupCount());
        assertEquals("global", loaded.getHandleUnseenGroup());
        List<Row> groups = loaded.groupStatistics().orderBy("g").collectAsList();
        // Group 0 holds a = 0, 1, ..., 33: mean 16.5; group 1 holds 10, 11, ..., 42: mean 26.
        assertEquals(16.5, groups.get(0).<Double>getList(2).get(0));
        assertEquals(26.0, groups.get(1).<Double>getList(2).get(0));

        JobRun describe = JobRun.of("describe", "--model", model);
        assertEquals(0, describe.exitCode(), describe.err());
        assertTrue(describe.out().contains("groups by g: 3; training rows per group: smallest 33, median 33, largest 34"),
                describe.out());
        assertTrue(describe.out().contains("largest group (g=0) with 34 rows"), describe.out());

        JobRun bad = JobRun.of("fit", "--input", input, "--input-cols", "a", "--group-cols", "g",
                "--handle-unseen-group", "sometimes", "--model", directory.resolve("other").toString());
        assertEquals(2, bad.exitCode(), bad.err());
        assertTrue(bad.err().contains("--handle-unseen-group"), bad.err());
    }
}
