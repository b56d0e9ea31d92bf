package io.github.batchnorm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.SparkTestSession;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No command destroys what it reads: a written path that overlaps another path of the same command is refused before
 * any work, with exit code 2 and a line that names both, even with --overwrite; every file under the folder is then
 * byte for byte what it was.
 */
@DisplayName("Paths that overlap are refused and nothing is lost")
class PathOverlapJobTest {
    private static SparkSession spark;

    @TempDir
    Path directory;

    private String table;
    private String model;

    @BeforeAll
    static void startSpark() {
        spark = SparkTestSession.get();
    }

    @BeforeEach
    void writeTableAndModel() {
        double[][] values = Data.dense(5, 50, 2);
        List<Row> rows = new ArrayList<>();
        for (double[] row : values) {
            rows.add(RowFactory.create(row[0], row[1]));
        }
        table = path("table.parquet");
        spark.createDataFrame(rows, new StructType().add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType))
                .write().parquet(table);
        model = path("model");
        JobRun fit = JobRun.of("fit", "--input", table, "--input-cols", "a,b", "--model", model);
        assertEquals(0, fit.exitCode(), fit.err());
    }

    private String path(String name) {
        return directory.resolve(name).toString();
    }

    /** Every file under the test folder with its bytes, hidden files included. */
    private Map<String, String> snapshot() {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(directory)) {
            walk.filter(Files::isRegularFile).forEach(file -> {
                try {
                    files.put(directory.relativize(file).toString(), Arrays.toString(Files.readAllBytes(file)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    /** Runs the command, expects exit code 2 and one line naming both paths, and nothing changed on disk. */
    private void assertRefusedAndNothingChanged(String first, String second, String... args) {
        Map<String, String> before = snapshot();
        JobRun run = JobRun.of(args);
        assertEquals(2, run.exitCode(), run.out() + run.err());
        String line = run.err().strip();
        assertEquals(1, line.lines().count(), line);
        assertTrue(line.contains("'" + first + "'") && line.contains("'" + second + "'"), line);
        assertEquals(before, snapshot(), "the files on disk");
    }

    @Test
    void anOutputThatIsTheInputIsRefusedEvenWithOverwrite() {
        assertRefusedAndNothingChanged(table, table, "fit-transform", "--input", table, "--input-cols", "a,b",
                "--output", table, "--overwrite");
        assertRefusedAndNothingChanged(table, table, "transform", "--model", model, "--input", table, "--output", table,
                "--overwrite");
    }

    @Test
    void theSamePathSpeltDifferentlyIsRecognised() throws IOException {
        String trailingSlash = table + "/";
        String dotDot = path("model") + "/../table.parquet";
        Path link = Files.createSymbolicLink(directory.resolve("link"), directory.resolve("table.parquet"));
        String relative = Path.of("").toAbsolutePath().relativize(directory.resolve("table.parquet")).toString();
        for (String other : List.of(trailingSlash, dotDot, link.toString(), relative, "file://" + table)) {
            assertRefusedAndNothingChanged(table, other, "fit-transform", "--input", table, "--input-cols", "a,b",
                    "--output", other, "--overwrite", "--format", "parquet");
        }
    }

    @Test
    void anOutputInsideTheInputOrAnInputInsideTheOutputIsRefused() {
        String inside = table + "/normalised.parquet";
        assertRefusedAndNothingChanged(inside, table, "fit-transform", "--input", table, "--input-cols", "a,b",
                "--output", inside);
        String parent = directory.toString();
        assertRefusedAndNothingChanged(parent, table, "fit-transform", "--input", table, "--input-cols", "a,b",
                "--output", parent, "--overwrite", "--output-format", "parquet");
    }

    @Test
    void aModelInsideTheOutputOrTheInputOrContainingTheOutputIsRefused() {
        String output = path("out.parquet");
        assertRefusedAndNothingChanged(output + "/model", output, "fit-transform", "--input", table, "--input-cols",
                "a,b", "--output", output, "--model", output + "/model");
        assertRefusedAndNothingChanged(table + "/model", table, "fit", "--input", table, "--input-cols", "a,b",
                "--model", table + "/model", "--overwrite");
        assertRefusedAndNothingChanged(model + "/out", model, "transform", "--model", model, "--input", table,
                "--output", model + "/out", "--output-format", "parquet");
        String nested = path("models/m");
        assertEquals(0, JobRun.of("fit", "--input", table, "--input-cols", "a,b", "--model", nested).exitCode());
        assertRefusedAndNothingChanged(path("models"), nested, "transform", "--model", nested, "--input", table,
                "--output", path("models"), "--overwrite", "--output-format", "parquet");
    }

    @Test
    void anUpdateOrAnImportNeverWritesOverWhatItReads() throws IOException {
        String dataInModel = model + "/data";
        assertRefusedAndNothingChanged(model, dataInModel, "fit", "--input", dataInModel, "--format", "parquet",
                "--update", model);
        Files.writeString(directory.resolve("model").resolve("keras.json"), "{}");
        String json = model + "/keras.json";
        assertRefusedAndNothingChanged(model, json, "import", "--json", json, "--model", model, "--overwrite");
    }

    @Test
    void aModelNeverReplacesATableAndAnOutputNeverReplacesAModel() {
        Map<String, String> before = snapshot();
        JobRun modelOverTable = JobRun.of("fit", "--input", table, "--input-cols", "a,b", "--model", path("t2.parquet"));
        assertEquals(0, modelOverTable.exitCode(), modelOverTable.err());
        Map<String, String> withSecond = snapshot();
        assertTrue(withSecond.size() > before.size());

        JobRun copy = JobRun.of("transform", "--model", model, "--input", table, "--output", path("out.parquet"));
        assertEquals(0, copy.exitCode(), copy.err());
        Map<String, String> withOutput = snapshot();
        JobRun overTable = JobRun.of("fit", "--input", table, "--input-cols", "a,b", "--model", path("out.parquet"),
                "--overwrite");
        assertEquals(2, overTable.exitCode(), overTable.err());
        assertTrue(overTable.err().contains("not a saved model"), overTable.err());
        JobRun overModel = JobRun.of("transform", "--model", model, "--input", table, "--output", path("t2.parquet"),
                "--overwrite");
        assertEquals(2, overModel.exitCode(), overModel.err());
        assertTrue(overModel.err().contains("holds a saved model"), overModel.err());
        assertEquals(withOutput, snapshot(), "the files on disk");
    }
}
