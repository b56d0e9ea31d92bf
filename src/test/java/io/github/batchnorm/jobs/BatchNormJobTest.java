package io.github.batchnorm.jobs;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.batchnorm.BatchNormalization;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.SparkException;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("The batchnorm command, run in-process on temporary directories")
class BatchNormJobTest {
    private static final double TIGHT = 1e-12;
    private static final int ROWS = 200;

    private static SparkSession spark;
    private static Dataset<Row> table;
    /** The features the job reads from the table: columns a, b, c (an int), and the vector v. */
    private static double[][] scalars;
    private static double[][] vectors;

    @TempDir
    Path directory;

    @BeforeAll
    static void makeTable() {
        spark = SparkTestSession.get();
        double[][] values = Data.dense(71, ROWS, 3);
        vectors = values;
        scalars = new double[ROWS][];
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < values.length; r++) {
            scalars[r] = new double[] {values[r][0], values[r][1], (int) Math.round(values[r][2])};
            rows.add(RowFactory.create((long) r, values[r][0], values[r][1], (int) Math.round(values[r][2]),
                    Vectors.dense(values[r])));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("a", DataTypes.DoubleType)
                .add("b", DataTypes.DoubleType).add("c", DataTypes.IntegerType).add("v", SQLDataTypes.VectorType());
        table = spark.createDataFrame(rows, schema).cache();
    }

    private String path(String name) {
        return directory.resolve(name).toString();
    }

    /**
     * Checks a model the job saved against the BigDecimal reference of the input rows: same count, mean and variance
     * (to 1e-12 relative to the spread), so a job that read other rows or columns fails.
     */
    private static void assertFittedStatistics(double[][] input, BatchNormalizationModel model, boolean sample) {
        ExactReference reference = ExactReference.of(input);
        for (int j = 0; j < input[0].length; j++) {
            double variance = sample ? reference.sampleVariance(j) : reference.populationVariance(j);
            assertEquals(ROWS, model.statistics().count()[j], "count of feature " + j);
            assertClose(reference.mean(j), model.mean().apply(j), TIGHT, Math.sqrt(variance), "mean of feature " + j);
            assertRelative(variance, model.variance().apply(j), TIGHT, "variance of feature " + j);
        }
    }

    /** Rows of a written table by their id. */
    private static Row[] byId(Dataset<Row> written) {
        Row[] rows = new Row[ROWS];
        for (Row row : written.collectAsList()) {
            int id = ((Number) row.get(row.fieldIndex("id"))).intValue();
            assertNull(rows[id], "row " + id + " written once");
            rows[id] = row;
        }
        for (int id = 0; id < ROWS; id++) {
            assertNotNull(rows[id], "row " + id + " written");
        }
        return rows;
    }

    /** Writes the scalar columns (and, except for CSV, the vector column) in a format. */
    private String writeInput(String format) {
        String path = path("input." + format);
        // Only Parquet keeps Spark ML's Vector type; ORC and JSON would read it back as a plain struct.
        Dataset<Row> data = format.equals("parquet") ? table : table.drop("v");
        var writer = data.coalesce(2).write().format(format);
        if (format.equals("csv")) {
            writer = writer.option("header", "true");
        }
        writer.save(path);
        return path;
    }

    /** Names of everything in the temporary directory, hidden files included. */
    private List<String> entries() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(file -> file.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @ParameterizedTest(name = "{0} in, every format out")
    @ValueSource(strings = {"csv", "parquet", "orc", "json"})
    void fitTransformReadsAndWritesEveryFormat(String inputFormat) {
        String input = writeInput(inputFormat);
        for (String outputFormat : List.of("csv", "parquet", "orc", "json")) {
            String output = path("out-" + outputFormat + "." + outputFormat);
            JobRun result = JobRun.of("fit-transform", "--input", input, "--input-cols", "a,b,c", "--output", output,
                    "--model", path("model-" + outputFormat));
            assertEquals(0, result.exitCode(), result.err());
            assertTrue(result.out().contains("Before (fitted statistics):"), result.out());
            assertTrue(result.out().contains("After (statistics of the normalised output):"), result.out());

            assertFittedStatistics(scalars, BatchNormalizationModel.load(path("model-" + outputFormat)), false);
            var reader = spark.read().format(outputFormat);
            if (outputFormat.equals("csv")) {
                reader = reader.option("header", "true").option("inferSchema", "true");
            }
            Dataset<Row> written = reader.load(output);
            for (String column : List.of("id", "a", "b", "c", "a_bn", "b_bn", "c_bn")) {
                assertTrue(List.of(written.columns()).contains(column), outputFormat + " output has " + column);
            }
            // Text formats print doubles in full (shortest round-trip form), so CSV and JSON are held to the same bound.
            ExactReference reference = ExactReference.of(scalars);
            Row[] rows = byId(written);
            for (int r = 0; r < ROWS; r++) {
                for (int j = 0; j < 3; j++) {
                    double expected = reference.normalize(j, scalars[r][j], false, 1e-5, 1, 0, true, true);
                    double actual = ((Number) rows[r].get(rows[r].fieldIndex(List.of("a_bn", "b_bn", "c_bn").get(j))))
                            .doubleValue();
                    assertClose(expected, actual, TIGHT, 1.0, outputFormat + " row " + r + " column " + j);
                }
            }
        }
    }

    @Test
    void vectorColumnsRoundTripAndAreSpreadIntoColumnsForCsv() {
        String input = writeInput("parquet");
        JobRun parquet = JobRun.of("fit-transform", "--input", input, "--input-col", "v", "--output", path("out.parquet"),
                "--model", path("model"));
        assertEquals(0, parquet.exitCode(), parquet.err());
        Dataset<Row> written = spark.read().parquet(path("out.parquet"));
        assertEquals(SQLDataTypes.VectorType(), written.schema().apply("v_bn").dataType());

        JobRun csv = JobRun.of("transform", "--model", path("model"), "--input", input, "--output", path("out.csv"));
        assertEquals(0, csv.exitCode(), csv.err());
        Dataset<Row> flat = spark.read().option("header", "true").option("inferSchema", "true").csv(path("out.csv"));
        for (String column : List.of("v_0", "v_1", "v_2", "v_bn_0", "v_bn_1", "v_bn_2")) {
            assertTrue(List.of(flat.columns()).contains(column), "CSV has " + column + ": " + List.of(flat.columns()));
        }
        assertFittedStatistics(vectors, BatchNormalizationModel.load(path("model")), false);
        ExactReference reference = ExactReference.of(vectors);
        Row[] parquetRows = byId(written);
        Row[] csvRows = byId(flat);
        for (int r = 0; r < ROWS; r++) {
            Vector fromParquet = parquetRows[r].getAs("v_bn");
            for (int j = 0; j < 3; j++) {
                double expected = reference.normalize(j, vectors[r][j], false, 1e-5, 1, 0, true, true);
                assertClose(expected, fromParquet.apply(j), TIGHT, 1.0, "parquet row " + r + " feature " + j);
                assertEquals(fromParquet.apply(j), csvRows[r].getDouble(csvRows[r].fieldIndex("v_bn_" + j)),
                        "CSV row " + r + " feature " + j + " as written to Parquet");
                assertEquals(vectors[r][j], csvRows[r].getDouble(csvRows[r].fieldIndex("v_" + j)),
                        "CSV row " + r + " input " + j);
            }
        }
    }

    @Test
    void describeJsonParsesBackToTheModelsExactNumbers() throws IOException {
        String input = writeInput("parquet");
        JobRun fit = JobRun.of("fit", "--input", input, "--input-cols", "a,b,c", "--model", path("model"), "--gamma", "2",
                "--beta", "0.5,-1,3", "--epsilon", "0.001", "--variance", "sample");
        assertEquals(0, fit.exitCode(), fit.err());
        assertTrue(fit.out().contains("Fitted in "), fit.out());
        assertTrue(fit.out().lines().anyMatch(line -> line.startsWith("feature")), fit.out());

        JobRun describe = JobRun.of("describe", "--model", path("model"), "--json");
        assertEquals(0, describe.exitCode(), describe.err());
        JsonNode json = new ObjectMapper().readTree(describe.out());
        BatchNormalizationModel model = BatchNormalizationModel.load(path("model"));
        assertFittedStatistics(scalars, model, true);
        assertEquals(List.of("a", "b", "c"), List.of(new ObjectMapper().treeToValue(json.get("inputCols"), String[].class)));
        assertEquals(0.001, json.get("epsilon").doubleValue());
        assertEquals("sample", json.get("varianceMode").textValue());
        assertEquals(3, json.get("storedFeatures").longValue(), "every column has values other than zero");
        assertEquals(0, json.get("implicitFeatures").longValue());
        for (int j = 0; j < 3; j++) {
            // The JSON prints the saved model's doubles exactly, and those match the reference (checked above).
            assertEquals(ROWS, json.get("count").get(j).longValue());
            assertEquals(model.mean().apply(j), Double.parseDouble(json.get("mean").get(j).asText()), "mean " + j);
            assertEquals(model.variance().apply(j), Double.parseDouble(json.get("variance").get(j).asText()),
                    "variance " + j);
            assertEquals(2.0, json.get("gamma").get(j).doubleValue());
        }
        assertEquals(List.of(0.5, -1.0, 3.0), List.of(json.get("beta").get(0).doubleValue(),
                json.get("beta").get(1).doubleValue(), json.get("beta").get(2).doubleValue()));

        JobRun table = JobRun.of("describe", "--model", path("model"));
        assertEquals(0, table.exitCode());
        assertTrue(table.out().contains("epsilon 0.001, sample variance, 200 rows"), table.out());
    }

    @Test
    void aMissingInputFileIsBadInputAndWritesNothing() throws IOException {
        JobRun result = JobRun.of("fit-transform", "--input", path("nope.csv"), "--input-cols", "a", "--output", path("out.csv"));
        assertEquals(2, result.exitCode());
        assertEquals("batchnorm: Input path '" + path("nope.csv") + "' does not exist.\n", result.err());
        assertEquals(List.of(), entries());
    }

    @Test
    void aMissingOrNonNumericColumnIsBadInputAndWritesNothing() throws IOException {
        String input = writeInput("csv");
        JobRun missing = JobRun.of("fit-transform", "--input", input, "--input-cols", "a,zzz", "--output", path("out.csv"));
        assertEquals(2, missing.exitCode());
        assertTrue(missing.err().startsWith("batchnorm: Input column 'zzz' does not exist. Available columns: id, a, b,"
                + " c."), missing.err());
        Files.writeString(directory.resolve("text.csv"), "x,name\n1,anna\n2,bert\n");
        JobRun text = JobRun.of("fit", "--input", path("text.csv"), "--input-cols", "x,name", "--model", path("model"));
        assertEquals(2, text.exitCode());
        assertTrue(text.err().contains("Input column 'name' must be numeric"), text.err());
        assertEquals(List.of("input.csv", "text.csv"), entries());
    }

    @Test
    void malformedCsvIsBadInputAndLeavesNoOutput() throws IOException {
        Files.writeString(directory.resolve("broken.csv"), "a,b\n1,2\n3\n4,5,6\n");
        JobRun result = JobRun.of("fit-transform", "--input", path("broken.csv"), "--input-cols", "a,b", "--output",
                path("out.parquet"), "--schema", "a DOUBLE, b DOUBLE");
        assertEquals(2, result.exitCode(), result.err());
        assertTrue(result.err().startsWith("batchnorm: Malformed input"), result.err());
        assertEquals(List.of("broken.csv"), entries());
    }

    @Test
    void anExistingOutputOrModelIsRefusedAndLeftUntouchedUnlessOverwrite() throws IOException {
        String input = writeInput("parquet");
        Files.createDirectories(directory.resolve("out.parquet"));
        Files.writeString(directory.resolve("out.parquet/keep.txt"), "precious");
        JobRun refused = JobRun.of("fit-transform", "--input", input, "--input-cols", "a", "--output", path("out.parquet"));
        assertEquals(2, refused.exitCode());
        assertEquals("batchnorm: Output '" + path("out.parquet") + "' already exists; pass --overwrite to replace it.\n",
                refused.err());
        assertEquals("precious", Files.readString(directory.resolve("out.parquet/keep.txt")));

        assertEquals(0, JobRun.of("fit", "--input", input, "--input-cols", "a", "--model", path("model")).exitCode());
        JobRun model = JobRun.of("fit", "--input", input, "--input-cols", "b", "--model", path("model"));
        assertEquals(2, model.exitCode());
        assertTrue(model.err().contains("Model '" + path("model") + "' already exists"), model.err());
        assertArrayEquals(new String[] {"a"}, BatchNormalizationModel.load(path("model")).getInputCols());

        JobRun replaced = JobRun.of("fit-transform", "--input", input, "--input-cols", "a", "--output", path("out.parquet"),
                "--overwrite");
        assertEquals(0, replaced.exitCode(), replaced.err());
        assertFalse(Files.exists(directory.resolve("out.parquet/keep.txt")));
        assertEquals(List.of("input.parquet", "model", "out.parquet"), entries(), "no temporary directories remain");
    }

    @Test
    void badOptionValuesAreUsageErrors() throws IOException {
        String input = writeInput("parquet");
        String[][] cases = {
            {"--epsilon", "-1"}, {"--variance", "unbiased"}, {"--handle-invalid", "ignore"}, {"--format", "xls"},
            {"--epsilon", "abc"}, {"--gamma", "1,2"}};
        String[] expected = {"Invalid value for --epsilon: '-1.0'; expected a finite number >= 0.",
            "Invalid value for --variance: 'unbiased'; expected population or sample.",
            "Invalid value for --handle-invalid: 'ignore'; expected error, skip or keep.", "Unknown format 'xls'",
            "Invalid value for option '--epsilon'", "--gamma has 2 values, but there are 1 features"};
        for (int i = 0; i < cases.length; i++) {
            List<String> args = new ArrayList<>(List.of("fit", "--input", input, "--input-cols", "a", "--model",
                    path("model")));
            args.addAll(List.of(cases[i]));
            JobRun result = JobRun.of(args.toArray(new String[0]));
            assertEquals(2, result.exitCode(), String.join(" ", cases[i]) + ": " + result.err());
            assertTrue(result.err().contains(expected[i]), result.err());
            assertFalse(result.err().contains("\tat "), "no stack trace without --verbose: " + result.err());
        }
        assertEquals(List.of("input.parquet"), entries());
        JobRun neither = JobRun.of("fit", "--input", input, "--model", path("model"));
        assertEquals(2, neither.exitCode());
        assertTrue(neither.err().contains("--input-cols") && neither.err().contains("--input-col"), neither.err());
    }

    @Test
    void aJobThatFailsMidWayLeavesNoOutputThatLooksComplete() throws IOException {
        Files.writeString(directory.resolve("nan.csv"), "a,b\n1,2\n3,NaN\n5,6\n");
        JobRun fit = JobRun.of("fit-transform", "--input", path("nan.csv"), "--input-cols", "a,b", "--output", path("out.parquet"),
                "--model", path("model"));
        assertEquals(2, fit.exitCode());
        assertTrue(fit.err().contains("Input column 'b' has an invalid value NaN"), fit.err());
        assertEquals(List.of("nan.csv"), entries());

        Files.writeString(directory.resolve("clean.csv"), "a,b\n1,2\n3,4\n5,6\n");
        assertEquals(0, JobRun.of("fit", "--input", path("clean.csv"), "--input-cols", "a,b", "--model", path("model"))
                .exitCode());
        JobRun transform = JobRun.of("transform", "--model", path("model"), "--input", path("nan.csv"), "--output",
                path("out.parquet"));
        assertEquals(2, transform.exitCode(), "the NaN is met while the output is being written");
        assertTrue(transform.err().startsWith("batchnorm: Input column 'b' has an invalid value NaN."), transform.err());
        assertEquals(List.of("clean.csv", "model", "nan.csv"), entries(), "no output and no temporary directory");
    }

    @Test
    void sampleDataIsDeterministicAndMatchesTheCommittedTable() throws IOException {
        JobRun first = JobRun.of("sample-data", "--output", path("one.csv"));
        JobRun second = JobRun.of("sample-data", "--output", path("two.csv"));
        assertEquals(0, first.exitCode(), first.err());
        assertEquals(0, second.exitCode());
        String generated = Files.readString(directory.resolve("one.csv"));
        assertEquals(generated, Files.readString(directory.resolve("two.csv")));
        assertTrue(generated.startsWith(SampleDataCommand.HEADER + "\n"));
        assertEquals(10_001, generated.lines().count());
        Path committed = Path.of("data", "people.csv");
        assertEquals(Files.readString(committed), generated, "data/people.csv is what the default generator writes");
        assertEquals(List.of("one.csv", "two.csv"), entries());
    }

    @Test
    void anIllegalArgumentThrownBySparkItselfIsAFailureNotBadInput() {
        // Spark's own require (Range: step must not be 0), as the job would meet it from Spark's or Hadoop's internals.
        IllegalArgumentException internal = assertThrows(IllegalArgumentException.class,
                () -> spark.range(0, 10, 0).count());
        assertFalse(internal.getStackTrace()[0].getClassName().startsWith("io.github.batchnorm."),
                "thrown outside this project");
        assertEquals(1, Failures.classify(internal).exitCode(), internal.getMessage());
        // The shapes in which a task's failure reaches the job: inside a SparkException, and that rethrown on the
        // driver as an IllegalArgumentException carrying the message (as the fit does).
        SparkException aborted = new SparkException("Job aborted due to stage failure", internal);
        assertEquals(1, Failures.classify(aborted).exitCode());
        assertEquals(1, Failures.classify(new IllegalArgumentException(internal.getMessage(), aborted)).exitCode());
        assertEquals(1, Failures.classify(new RuntimeException("wrapped", internal)).exitCode());
    }

    @Test
    void anIllegalArgumentFromOurOwnChecksIsBadInputInEveryShape() {
        IllegalArgumentException onTheDriver = assertThrows(IllegalArgumentException.class,
                () -> new BatchNormalization().setInputCols("a", "zzz").fit(table));
        assertEquals(new Failures.Outcome(2, onTheDriver.getMessage()), Failures.classify(onTheDriver));
        // Thrown inside a task (a NaN met by the exact summation) and rethrown by the fit with its message.
        Dataset<Row> withNaN = spark.createDataFrame(List.of(RowFactory.create(1.0), RowFactory.create(Double.NaN)),
                new StructType().add("x", DataTypes.DoubleType));
        IllegalArgumentException inATask = assertThrows(IllegalArgumentException.class,
                () -> new BatchNormalization().setInputCols("x").setOutputCols("y").setSummation("exact").fit(withNaN));
        assertTrue(inATask.getCause() instanceof SparkException, "failed in a task: " + inATask.getCause());
        assertEquals(new Failures.Outcome(2, inATask.getMessage()), Failures.classify(inATask));
        assertEquals(new Failures.Outcome(2, inATask.getMessage()),
                Failures.classify(new RuntimeException("wrapped", inATask)));
    }

    @Test
    void theJobShipsItsOwnJarToExecutorsInOtherJvmsOnly() {
        String jar = "/opt/app/spark-batchnorm.jar";
        assertEquals(jar, BatchNormJob.jarsToShip("spark://127.0.0.1:7077", "", jar));
        assertEquals(jar, BatchNormJob.jarsToShip("local-cluster[2,1,1024]", "", jar), "local-cluster has executor JVMs");
        assertEquals("/opt/lib/other.jar," + jar, BatchNormJob.jarsToShip("yarn", "/opt/lib/other.jar", jar));
        assertNull(BatchNormJob.jarsToShip("spark://h:7077", "file:/submitted/spark-batchnorm.jar", jar),
                "spark-submit already ships it");
        assertNull(BatchNormJob.jarsToShip("local[*]", "", jar), "tasks run in the driver's JVM");
        assertNull(BatchNormJob.jarsToShip("local", "", jar));
        assertNull(BatchNormJob.jarsToShip("spark://h:7077", "", null), "classes from a directory: no jar");
    }
}
