package io.github.batchnorm.jobs;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.testing.SparkTestSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line takes column names as they are in the file's header: a dot, a space, a backtick, non-ASCII letters or
 * a 300-character name. x = 1, 2, 3, 4 with weights 1, 1, 2, 0 have mean 9/4 and population variance 11/16.
 */
@DisplayName("The batchnorm command with real-world column names")
class ColumnNamesJobTest {
    private static final String DOTTED = "age.years";
    private static final String SPACED = "monthly spend (€)";
    private static final String TICKED = "we`ird";
    private static final String LONG = "größe." + "x".repeat(300);
    private static final String WEIGHT = "w.kg";
    private static final double[] X = {1, 2, 3, 4};
    private static final double[] W = {1, 1, 2, 0};
    private static final double MEAN = 9.0 / 4;
    private static final double VARIANCE = 11.0 / 16;

    private static SparkSession spark;

    @TempDir
    Path directory;

    @BeforeAll
    static void startSpark() {
        spark = SparkTestSession.get();
    }

    private String path(String name) {
        return directory.resolve(name).toString();
    }

    private static double expected(double x, double scale) {
        return (x - MEAN * scale) / Math.sqrt(VARIANCE * scale * scale);
    }

    private String csv() throws IOException {
        StringBuilder text = new StringBuilder("id,\"" + DOTTED + "\",\"" + SPACED + "\",\"" + TICKED + "\",\"" + LONG
                + "\"," + WEIGHT + "\n");
        for (int r = 0; r < X.length; r++) {
            text.append(r).append(',').append(X[r]).append(',').append(10 * X[r]).append(',').append(100 * X[r])
                    .append(',').append(-X[r]).append(',').append(W[r]).append('\n');
        }
        Path file = directory.resolve("people.csv");
        Files.writeString(file, text, StandardCharsets.UTF_8);
        return file.toString();
    }

    @Test
    void fitTransformFitTransformAndDescribeTakeTheHeadersNames() throws IOException {
        String input = csv();
        String columns = String.join(",", DOTTED, SPACED, TICKED, LONG);
        JobRun fitTransform = JobRun.of("fit-transform", "--input", input, "--input-cols", columns, "--weight-col", WEIGHT,
                "--epsilon", "0", "--output", path("out.parquet"), "--model", path("model"));
        assertEquals(0, fitTransform.exitCode(), fitTransform.err());
        assertTrue(fitTransform.out().contains(TICKED), fitTransform.out());
        checkOutput(path("out.parquet"));

        JobRun transform = JobRun.of("transform", "--model", path("model"), "--input", input, "--output",
                path("again.parquet"));
        assertEquals(0, transform.exitCode(), transform.err());
        checkOutput(path("again.parquet"));

        JobRun describe = JobRun.of("describe", "--model", path("model"), "--json");
        assertEquals(0, describe.exitCode(), describe.err());
        assertTrue(describe.out().contains("\"" + LONG + "\""), describe.out());
        assertEquals(List.of(DOTTED, SPACED, TICKED, LONG),
                List.of(BatchNormalizationModel.load(path("model")).getInputCols()));

        JobRun csvOut = JobRun.of("transform", "--model", path("model"), "--input", input, "--output", path("out.csv"));
        assertEquals(0, csvOut.exitCode(), csvOut.err());
        Row first = spark.read().option("header", "true").option("inferSchema", "true").csv(path("out.csv"))
                .where("id = 0").head();
        assertClose(expected(1, 1), first.getDouble(first.fieldIndex(DOTTED + "_bn")), 1e-14, 1, DOTTED);
    }

    private void checkOutput(String output) {
        double[] scales = {1, 10, 100, -1};
        String[] names = {DOTTED, SPACED, TICKED, LONG};
        for (Row row : spark.read().parquet(output).collectAsList()) {
            int r = row.getInt(row.fieldIndex("id"));
            for (int j = 0; j < names.length; j++) {
                assertClose(expected(scales[j] * X[r], scales[j]), row.getDouble(row.fieldIndex(names[j] + "_bn")),
                        1e-14, 1, names[j] + " row " + r);
            }
        }
    }

    @Test
    void vectorAndArrayColumnsWithDotsAndBackticksAreNormalisedAndFlattenedForCsv() {
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < X.length; r++) {
            double[] values = {X[r], 10 * X[r]};
            rows.add(RowFactory.create((long) r, Vectors.dense(values), values, W[r]));
        }
        String vectors = "features.v`1";
        String arrays = "embedding.ä b";
        spark.createDataFrame(rows, new StructType().add("id", DataTypes.LongType).add(vectors, SQLDataTypes.VectorType())
                .add(arrays, DataTypes.createArrayType(DataTypes.DoubleType)).add(WEIGHT, DataTypes.DoubleType))
                .write().parquet(path("input.parquet"));
        for (String column : List.of(vectors, arrays)) {
            String output = path(column.hashCode() + ".parquet");
            JobRun run = JobRun.of("fit-transform", "--input", path("input.parquet"), "--input-col", column,
                    "--weight-col", WEIGHT, "--epsilon", "0", "--output", output);
            assertEquals(0, run.exitCode(), run.err());
            assertTrue(run.out().contains(column + "[1]"), run.out());
            for (Row row : spark.read().parquet(output).collectAsList()) {
                int r = (int) row.getLong(row.fieldIndex("id"));
                Object cell = row.get(row.fieldIndex(column + "_bn"));
                double[] y = cell instanceof Vector ? ((Vector) cell).toArray()
                        : row.<Double>getList(row.fieldIndex(column + "_bn")).stream().mapToDouble(Double::doubleValue)
                                .toArray();
                assertClose(expected(X[r], 1), y[0], 1e-14, 1, column + " row " + r);
                assertClose(expected(10 * X[r], 10), y[1], 1e-14, 1, column + " row " + r);
            }
            JobRun toCsv = JobRun.of("fit-transform", "--input", path("input.parquet"), "--input-col", column,
                    "--output", path(column.hashCode() + ".csv"));
            assertEquals(0, toCsv.exitCode(), toCsv.err());
            List<String> header = List.of(spark.read().option("header", "true").csv(path(column.hashCode() + ".csv"))
                    .columns());
            assertTrue(header.contains(column + "_bn_1"), header.toString());
        }
    }

    @Test
    void aFeatureWithNoValidValueIsNamedByItsColumnInTheJobsError() throws IOException {
        Path file = directory.resolve("gaps.csv");
        Files.writeString(file, "\"" + DOTTED + "\",\"" + SPACED + "\"\n1,\n2,\n3,\n", StandardCharsets.UTF_8);
        JobRun run = JobRun.of("fit", "--input", file.toString(), "--schema", "`" + DOTTED + "` DOUBLE, `" + SPACED
                + "` DOUBLE", "--input-cols", DOTTED + "," + SPACED, "--handle-invalid", "keep", "--model", path("m"));
        assertEquals(2, run.exitCode(), run.err());
        assertTrue(run.err().contains("Feature '" + SPACED + "' has no value"), run.err());
    }
}
