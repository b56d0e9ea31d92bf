package io.github.batchnorm.jobs;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.batchnorm.BatchNormalization;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.SparkTestSession;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.ml.linalg.SQLDataTypes;
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

@DisplayName("The batchnorm command: fit --update, import, and describe --json as the export")
class RunningModelJobTest {
    private static final double TIGHT = 1e-12;
    private static SparkSession spark;
    private static Dataset<Row> table;

    @TempDir
    Path directory;

    @BeforeAll
    static void makeTable() {
        spark = SparkTestSession.get();
        double[][] values = Data.dense(151, 300, 3);
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < values.length; r++) {
            rows.add(RowFactory.create((long) r, values[r][0], values[r][1], values[r][2], Vectors.dense(values[r])));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("a", DataTypes.DoubleType)
                .add("b", DataTypes.DoubleType).add("c", DataTypes.DoubleType).add("v", SQLDataTypes.VectorType());
        table = spark.createDataFrame(rows, schema).cache();
    }

    private String path(String name) {
        return directory.resolve(name).toString();
    }

    /** Rows {@code from <= id < to} of the table, as Parquet. */
    private String part(String name, int from, int to) {
        String path = path(name + ".parquet");
        table.where("id >= " + from + " and id < " + to).coalesce(1).write().parquet(path);
        return path;
    }

    private List<String> entries() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(file -> file.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    private static void assertSameStatistics(FeatureStatistics expected, FeatureStatistics actual) {
        assertEquals(expected.rowCount(), actual.rowCount());
        assertArrayEquals(expected.count(), actual.count());
        for (int j = 0; j < expected.numFeatures(); j++) {
            double spread = Math.sqrt(expected.variance(VarianceMode.POPULATION)[j]);
            assertClose(expected.mean()[j], actual.mean()[j], TIGHT, spread, "mean " + j);
            assertRelative(expected.variance(VarianceMode.POPULATION)[j], actual.variance(VarianceMode.POPULATION)[j],
                    TIGHT, "variance " + j);
        }
    }

    @Test
    void fitUpdateMergesNewDataIntoTheSavedModelExactly() throws IOException {
        String first = part("first", 0, 100);
        String second = part("second", 100, 220);
        String third = part("third", 220, 300);
        assertEquals(0, JobRun.of("fit", "--input", first, "--input-cols", "a,b,c", "--model", path("model"), "--epsilon",
                "0.01").exitCode());
        JobRun update = JobRun.of("fit", "--input", second, "--update", path("model"));
        assertEquals(0, update.exitCode(), update.err());
        assertTrue(update.out().contains("Updated with 120 rows in "), update.out());
        assertTrue(update.out().contains("(exact merge); model saved to " + path("model")), update.out());
        assertEquals(0, JobRun.of("fit", "--input", third, "--input-cols", "a,b,c", "--update", path("model")).exitCode(),
                "the model's own input columns may be repeated");

        BatchNormalizationModel updated = BatchNormalizationModel.load(path("model"));
        assertEquals(0.01, updated.getEpsilon(), "the model keeps its params");
        assertSameStatistics(new BatchNormalization().setInputCols("a", "b", "c").setOutputCols("x", "y", "z")
                .fit(table).statistics(), updated.statistics());
        assertEquals(List.of("first.parquet", "model", "second.parquet", "third.parquet"), entries(),
                "replaced in place, nothing left beside it");
    }

    @Test
    void fitUpdateWithMomentumTakesAMovingAverageAndSavesTheMomentum() throws IOException {
        String first = part("first", 0, 150);
        String second = part("second", 150, 300);
        assertEquals(0, JobRun.of("fit", "--input", first, "--input-col", "v", "--model", path("model")).exitCode());
        JobRun update = JobRun.of("fit", "--input", second, "--update", path("model"), "--momentum", "0.75");
        assertEquals(0, update.exitCode(), update.err());
        assertTrue(update.out().contains("(moving average, momentum 0.75)"), update.out());
        assertTrue(update.out().contains("running statistics, momentum 0.75"), update.out());
        BatchNormalizationModel updated = BatchNormalizationModel.load(path("model"));
        assertEquals(0.75, updated.getMomentum());
        BatchNormalization estimator = new BatchNormalization().setInputCol("v").setOutputCol("v_bn");
        FeatureStatistics a = estimator.fit(spark.read().parquet(first)).statistics();
        FeatureStatistics b = estimator.fit(spark.read().parquet(second)).statistics();
        for (int j = 0; j < 3; j++) {
            assertRelative(0.75 * a.mean()[j] + 0.25 * b.mean()[j], updated.mean().apply(j), TIGHT, "mean " + j);
            assertRelative(0.75 * a.variance(VarianceMode.POPULATION)[j] + 0.25 * b.variance(VarianceMode.POPULATION)[j],
                    updated.variance().apply(j), TIGHT, "variance " + j);
        }
        JobRun exact = JobRun.of("fit", "--input", second, "--update", path("model"));
        assertEquals(0, exact.exitCode(), "the saved momentum applies to later updates: " + exact.err());
    }

    @Test
    void fitUpdateRefusesConflictingOptionsAndBadDataLeavingTheModelIntact() throws IOException {
        String first = part("first", 0, 100);
        assertEquals(0, JobRun.of("fit", "--input", first, "--input-cols", "a,b", "--model", path("model")).exitCode());
        FeatureStatistics before = BatchNormalizationModel.load(path("model")).statistics();
        String[][] cases = {
            {"--epsilon", "0.1"}, {"--weight-col", "c"}, {"--input-cols", "b,a"}, {"--input-col", "v"},
            {"--momentum", "1"}, {"--no-center", "--gamma", "2"}};
        String[] expected = {
            "batchnorm: --epsilon cannot be combined with --update: an update keeps the model's params; only"
                    + " --input-cols/--input-col (which must be the model's) and --momentum may be given.\n",
            "batchnorm: --weight-col cannot be combined with --update",
            "batchnorm: --input-cols b,a does not match the model's input columns a,b.\n",
            "batchnorm: --input-col v does not match the model's input columns a,b.\n",
            "batchnorm: Invalid value for --momentum: '1.0'; expected a number in [0, 1).\n",
            "batchnorm: --gamma cannot be combined with --update"};
        for (int i = 0; i < cases.length; i++) {
            List<String> args = new ArrayList<>(List.of("fit", "--input", first, "--update", path("model")));
            args.addAll(List.of(cases[i]));
            JobRun refused = JobRun.of(args.toArray(new String[0]));
            assertEquals(2, refused.exitCode(), String.join(" ", cases[i]));
            assertTrue(refused.err().startsWith(expected[i]), refused.err());
        }
        JobRun missing = JobRun.of("fit", "--input", first, "--update", path("nope"));
        assertEquals(2, missing.exitCode());
        assertEquals("batchnorm: Model '" + path("nope") + "' does not exist: fit one first (without --update).\n",
                missing.err());
        JobRun neither = JobRun.of("fit", "--input", first, "--input-cols", "a");
        assertEquals(2, neither.exitCode());
        assertEquals("batchnorm: Give --model DIR to save the fitted model, or --update DIR to update a saved one.\n",
                neither.err());

        Files.writeString(directory.resolve("nan.csv"), "a,b\n1,2\n3,NaN\n");
        JobRun invalid = JobRun.of("fit", "--input", path("nan.csv"), "--update", path("model"));
        assertEquals(2, invalid.exitCode());
        assertTrue(invalid.err().startsWith("batchnorm: Input column 'b' has an invalid value NaN."), invalid.err());
        assertEquals(before, BatchNormalizationModel.load(path("model")).statistics(), "the saved model is untouched");
        assertEquals(List.of("first.parquet", "model", "nan.csv"), entries());
    }

    @Test
    void fitUpdateCanSaveTheUpdatedModelElsewhere() throws IOException {
        String first = part("first", 0, 100);
        String second = part("second", 100, 300);
        assertEquals(0, JobRun.of("fit", "--input", first, "--input-cols", "a", "--model", path("model")).exitCode());
        FeatureStatistics before = BatchNormalizationModel.load(path("model")).statistics();
        JobRun update = JobRun.of("fit", "--input", second, "--update", path("model"), "--model", path("updated"));
        assertEquals(0, update.exitCode(), update.err());
        assertEquals(before, BatchNormalizationModel.load(path("model")).statistics());
        assertEquals(300, BatchNormalizationModel.load(path("updated")).count());
        JobRun again = JobRun.of("fit", "--input", second, "--update", path("model"), "--model", path("updated"));
        assertEquals(2, again.exitCode());
        assertTrue(again.err().contains("Model '" + path("updated") + "' already exists"), again.err());
    }

    @Test
    void fitUpdateLeavesAStreamsModelToTheStreamUnlessSavedElsewhere() throws IOException {
        String first = part("first", 0, 100);
        String second = part("second", 100, 300);
        assertEquals(0, JobRun.of("fit", "--input", first, "--input-cols", "a", "--model", path("model")).exitCode());
        // What RunningModel writes beside a model it keeps current.
        Files.writeString(directory.resolve("model").resolve(io.github.batchnorm.RunningModel.LAST_BATCH_FILE), "7");
        FeatureStatistics before = BatchNormalizationModel.load(path("model")).statistics();
        JobRun inPlace = JobRun.of("fit", "--input", second, "--update", path("model"));
        assertEquals(2, inPlace.exitCode());
        assertEquals("batchnorm: Model '" + path("model") + "' is kept current by a stream (it records the last"
                + " micro-batch it contains); update it from the stream, or save this update elsewhere with --model.\n",
                inPlace.err());
        assertEquals(before, BatchNormalizationModel.load(path("model")).statistics());
        assertEquals("7", Files.readString(directory.resolve("model").resolve(
                io.github.batchnorm.RunningModel.LAST_BATCH_FILE)));
        JobRun elsewhere = JobRun.of("fit", "--input", second, "--update", path("model"), "--model", path("copy"));
        assertEquals(0, elsewhere.exitCode(), elsewhere.err());
        assertEquals(300, BatchNormalizationModel.load(path("copy")).count());
    }

    @Test
    void fitUpdateRecoversAModelThatACrashedReplacementLeftAside() throws IOException {
        String first = part("first", 0, 100);
        String second = part("second", 100, 300);
        assertEquals(0, JobRun.of("fit", "--input", first, "--input-cols", "a,b", "--model", path("model")).exitCode());
        // A replacement that died between its two renames: the old model aside, the new one still temporary.
        Files.move(directory.resolve("model"), directory.resolve(".model.old-1234"));
        Files.createDirectories(directory.resolve(".model.tmp-5678/data"));
        JobRun update = JobRun.of("fit", "--input", second, "--update", path("model"));
        assertEquals(0, update.exitCode(), update.err());
        assertEquals(300, BatchNormalizationModel.load(path("model")).count());
        assertEquals(List.of("first.parquet", "model", "second.parquet"), entries());
    }

    private static void assertSameJsonNumbers(JsonNode expected, JsonNode actual) {
        for (Iterator<String> names = expected.fieldNames(); names.hasNext();) {
            String name = names.next();
            if (name.equals("exact")) {
                continue;
            }
            JsonNode want = expected.get(name);
            JsonNode got = actual.get(name);
            assertTrue(got != null, "field " + name + " survives");
            if (want.isArray()) {
                assertEquals(want.size(), got.size(), name);
                for (int j = 0; j < want.size(); j++) {
                    assertEquals(want.get(j).asText(), got.get(j).asText(), name + "[" + j + "]");
                    if (want.get(j).isNumber()) {
                        assertEquals(want.get(j).doubleValue(), got.get(j).doubleValue(), name + "[" + j + "]");
                    }
                }
            } else {
                assertEquals(want, got, name);
            }
        }
    }

    @Test
    void describeJsonThenImportThenDescribeJsonGivesEveryNumberBackExactly() throws IOException {
        String input = part("input", 0, 300);
        String[][] fits = {
            {"--input-cols", "a,b,c", "--output-cols", "x,y,z", "--gamma", "0.5,2,-3", "--beta", "1,0.125,-7",
                "--epsilon", "0.001", "--variance", "sample"},
            {"--input-col", "v", "--no-center", "--momentum", "0.9"}};
        for (int f = 0; f < fits.length; f++) {
            List<String> args = new ArrayList<>(List.of("fit", "--input", input, "--model", path("model" + f)));
            args.addAll(List.of(fits[f]));
            assertEquals(0, JobRun.of(args.toArray(new String[0])).exitCode());
            JobRun described = JobRun.of("describe", "--model", path("model" + f), "--json");
            assertEquals(0, described.exitCode(), described.err());
            Files.writeString(directory.resolve("export" + f + ".json"), described.out());

            JobRun imported = JobRun.of("import", "--json", path("export" + f + ".json"), "--model", path("imported" + f));
            assertEquals(0, imported.exitCode(), imported.err());
            assertTrue(imported.out().contains("Imported 3 features; model saved to " + path("imported" + f)),
                    imported.out());
            JobRun again = JobRun.of("describe", "--model", path("imported" + f), "--json");
            assertEquals(0, again.exitCode(), again.err());

            ObjectMapper mapper = new ObjectMapper();
            JsonNode original = mapper.readTree(described.out());
            JsonNode roundTripped = mapper.readTree(again.out());
            assertTrue(original.get("exact").booleanValue());
            assertFalse(roundTripped.get("exact").booleanValue(), "imported statistics are running statistics");
            assertSameJsonNumbers(original, roundTripped);
            assertSameJsonNumbers(roundTripped, original);
        }
        JsonNode sample = new ObjectMapper().readTree(Files.readString(directory.resolve("export0.json")));
        BatchNormalizationModel fitted = BatchNormalizationModel.load(path("model0"));
        assertEquals(fitted.variance().apply(1), sample.get("variance").get(1).doubleValue(),
                "the variance is exported in the model's convention");
        assertEquals("x", sample.get("outputCols").get(0).textValue());
    }

    @Test
    void importedKerasStatisticsScoreATableWithExactlyTheLayersFormula() throws IOException {
        Files.writeString(directory.resolve("keras.json"), "{\n"
                + "  \"inputCols\": [\"a\", \"b\"],\n"
                + "  \"epsilon\": 0.001,\n"
                + "  \"mean\": [1.5, -20],\n"
                + "  \"variance\": [4, 0.25],\n"
                + "  \"gamma\": [2, 0.5],\n"
                + "  \"beta\": [0.1, -3]\n"
                + "}\n");
        JobRun imported = JobRun.of("import", "--json", path("keras.json"), "--model", path("model"));
        assertEquals(0, imported.exitCode(), imported.err());
        assertTrue(imported.out().contains("0 rows, running statistics"), imported.out());
        String input = part("input", 0, 50);
        JobRun scored = JobRun.of("transform", "--model", path("model"), "--input", input, "--output", path("out.parquet"));
        assertEquals(0, scored.exitCode(), scored.err());
        List<Row> rows = spark.read().parquet(path("out.parquet")).orderBy("id").select("a", "b", "a_bn", "b_bn")
                .collectAsList();
        double[] mean = {1.5, -20};
        double[] variance = {4, 0.25};
        double[] gamma = {2, 0.5};
        double[] beta = {0.1, -3};
        MathContext context = new MathContext(50);
        for (Row row : rows) {
            for (int j = 0; j < 2; j++) {
                BigDecimal spread = new BigDecimal(variance[j]).add(new BigDecimal(0.001)).sqrt(context);
                double expected = new BigDecimal(row.getDouble(j)).subtract(new BigDecimal(mean[j]))
                        .multiply(new BigDecimal(gamma[j])).divide(spread, context).add(new BigDecimal(beta[j]))
                        .doubleValue();
                assertClose(expected, row.getDouble(2 + j), TIGHT, 1.0, "feature " + j);
            }
        }
    }

    @Test
    void importRejectsBadStatisticsNamingTheFieldAndWritesNothing() throws IOException {
        String[] documents = {
            "{\"inputCols\": [\"a\"], \"mean\": [1], \"variance\": [1]}",
            "{\"inputCols\": [\"a\"], \"epsilon\": 0.001, \"mean\": [1], \"variance\": [1], \"gama\": [2]}",
            "{\"inputCols\": [\"a\", \"b\"], \"epsilon\": 0.001, \"mean\": [1, 2], \"variance\": [1]}",
            "{\"inputCols\": [\"a\"], \"epsilon\": 0.001, \"mean\": [1], \"variance\": [-1]}",
            "{\"inputCol\": \"v\", \"inputCols\": [\"a\"], \"epsilon\": 0.001, \"mean\": [1], \"variance\": [1]}",
            "{\"inputCols\": [\"a\", \"b\"], \"epsilon\": 0.001, \"mean\": [1], \"variance\": [1]}",
            "{\"inputCols\": [\"a\"], \"epsilon\": 0.001, \"mean\": [\"1\"], \"variance\": [1]}",
            "[1, 2]",
            "{\"inputCols\": [\"a\"], \"epsilon\": 0.001, \"mean\": [1], \"variance\": [1], \"momentum\": 1}",
            "{\"inputCol\": \"v\", \"epsilon\": 0.001, \"mean\": [1], \"variance\": [1], \"varianceMode\": \"unbiased\"}"};
        String[] problems = {
            "'epsilon' must be given as a number: frameworks differ (Keras 1e-3, PyTorch 1e-5), so it has no default here.",
            "unknown field 'gama'; the fields are inputCols, outputCols, inputCol, outputCol, epsilon, varianceMode,"
                    + " center, scale, momentum, exact, numFeatures, storedFeatures, implicitFeatures, rowCount, count, mean, variance, gamma, beta,"
                    + " features, otherFeatures.",
            "'variance' has 1 values but 'mean' has 2; give one per feature.",
            "variance[0] is -1.0; every variance must be finite and >= 0.",
            "give 'inputCols' (the numeric columns, one per feature) or 'inputCol' (one Vector or array column), not both"
                    + " and not neither.",
            "'inputCols' names 2 columns but 'mean' has 1 values.",
            "'mean' must hold numbers only, but has \"1\".",
            "expected one JSON object.",
            "'momentum' must be in [0, 1) but is 1.0.",
            "varianceMode must be one of population, sample but was 'unbiased'."};
        for (int i = 0; i < documents.length; i++) {
            Files.writeString(directory.resolve("bad.json"), documents[i]);
            JobRun result = JobRun.of("import", "--json", path("bad.json"), "--model", path("model"));
            assertEquals(2, result.exitCode(), documents[i] + ": " + result.err());
            assertEquals("batchnorm: --json " + path("bad.json") + ": " + problems[i] + "\n", result.err());
        }
        Files.writeString(directory.resolve("bad.json"), "{not json");
        JobRun broken = JobRun.of("import", "--json", path("bad.json"), "--model", path("model"));
        assertEquals(2, broken.exitCode());
        assertTrue(broken.err().startsWith("batchnorm: --json " + path("bad.json") + ": not valid JSON: "), broken.err());
        JobRun absent = JobRun.of("import", "--json", path("nope.json"), "--model", path("model"));
        assertEquals(2, absent.exitCode());
        assertEquals("batchnorm: Input path '" + path("nope.json") + "' does not exist.\n", absent.err());
        assertEquals(List.of("bad.json"), entries());
    }
}
