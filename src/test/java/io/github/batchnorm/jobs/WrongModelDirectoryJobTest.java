package io.github.batchnorm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.BatchNormalization;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
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
 * transform, describe, fit --update and BatchNormalizationModel.load recognise what a wrong folder holds and say it in
 * one line with exit code 2 and no stack trace.
 */
@DisplayName("A --model folder that holds something else is named for what it is")
class WrongModelDirectoryJobTest {
    private static SparkSession spark;
    private static Dataset<Row> data;

    @TempDir
    Path directory;

    private String input;

    @BeforeAll
    static void makeData() {
        spark = SparkTestSession.get();
        List<Row> rows = new ArrayList<>();
        for (double[] row : Data.dense(9, 40, 2)) {
            rows.add(RowFactory.create(row[0], row[1]));
        }
        data = spark.createDataFrame(rows, new StructType().add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType));
    }

    @BeforeEach
    void writeInput() {
        input = path("input.parquet");
        data.write().parquet(input);
    }

    private String path(String name) {
        return directory.resolve(name).toString();
    }

    private String goodModel(String name) {
        JobRun fit = JobRun.of("fit", "--input", input, "--input-cols", "a,b", "--model", path(name));
        assertEquals(0, fit.exitCode(), fit.err());
        return path(name);
    }

    /** Every reader of a model refuses the folder with exit code 2 and one line containing each of {@code words}. */
    private void assertEveryReaderSays(String folder, String... words) {
        List<JobRun> runs = List.of(
                JobRun.of("transform", "--model", folder, "--input", input, "--output", path("out.parquet")),
                JobRun.of("describe", "--model", folder),
                JobRun.of("fit", "--input", input, "--update", folder),
                JobRun.of("fit", "--input", input, "--update", folder, "--model", path("updated")));
        for (JobRun run : runs) {
            assertEquals(2, run.exitCode(), run.out() + run.err());
            String line = run.err().strip();
            assertEquals(1, line.lines().count(), "one line, no stack trace: " + line);
            for (String word : words) {
                assertTrue(line.contains(word), "'" + word + "' in: " + line);
            }
        }
        IllegalArgumentException loaded = assertThrows(IllegalArgumentException.class,
                () -> BatchNormalizationModel.load(folder));
        for (String word : words) {
            assertTrue(loaded.getMessage().contains(word), "'" + word + "' in: " + loaded.getMessage());
        }
        assertFalse(Files.exists(directory.resolve("out.parquet")) || Files.exists(directory.resolve("updated")));
    }

    @Test
    void anotherStagesModelIsNamedByItsClass() throws IOException {
        new VectorAssembler().setInputCols(new String[] {"a", "b"}).setOutputCol("v").write().save(path("assembler"));
        assertEveryReaderSays(path("assembler"), "'" + path("assembler") + "'", "VectorAssembler",
                "org.apache.spark.ml.feature.VectorAssembler", "not a BatchNormalizationModel");
    }

    @Test
    void aPipelineModelWithoutExactlyOneBatchNormalizationModelNamesItsStages() throws IOException {
        VectorAssembler assembler = new VectorAssembler().setInputCols(new String[] {"a", "b"}).setOutputCol("v");
        new Pipeline().setStages(new PipelineStage[] {assembler, new StandardScaler().setInputCol("v")
                .setOutputCol("s")}).fit(data).write().save(path("scaler-pipeline"));
        assertEveryReaderSays(path("scaler-pipeline"), "PipelineModel", "[VectorAssembler, StandardScalerModel]",
                "none of them a BatchNormalizationModel");

        new Pipeline().setStages(new PipelineStage[] {assembler, new BatchNormalization().setInputCol("v")
                .setOutputCol("n1"), new BatchNormalization().setInputCol("v").setOutputCol("n2")}).fit(data).write()
                .save(path("two"));
        assertEveryReaderSays(path("two"), "[VectorAssembler, BatchNormalizationModel, BatchNormalizationModel]",
                "2 of them", path("two") + "/stages/1_");

        new Pipeline().setStages(new PipelineStage[] {assembler}).write().save(path("unfitted"));
        assertEveryReaderSays(path("unfitted"), "unfitted Pipeline", "fit it first");
    }

    @Test
    void aPipelineModelWithOneBatchNormalizationModelIsReadAsThatStageAndNotReplacedByAnUpdate() throws IOException {
        new Pipeline().setStages(new PipelineStage[] {new BatchNormalization().setInputCols("a", "b")
                .setOutputCols("a_n", "b_n")}).fit(data).write().save(path("pipeline"));
        BatchNormalizationModel stage = BatchNormalizationModel.load(path("pipeline"));
        assertEquals(List.of("a", "b"), List.of(stage.getInputCols()));

        JobRun describe = JobRun.of("describe", "--model", path("pipeline"));
        assertEquals(0, describe.exitCode(), describe.err());
        assertTrue(describe.err().contains("stage 1 of 1") && describe.err().contains(path("pipeline") + "/stages/0_"),
                describe.err());
        JobRun transform = JobRun.of("transform", "--model", path("pipeline"), "--input", input, "--output",
                path("out.parquet"));
        assertEquals(0, transform.exitCode(), transform.err());
        assertEquals(List.of("a", "b", "a_n", "b_n"), List.of(spark.read().parquet(path("out.parquet")).columns()));

        JobRun inPlace = JobRun.of("fit", "--input", input, "--update", path("pipeline"));
        assertEquals(2, inPlace.exitCode(), inPlace.err());
        assertTrue(inPlace.err().contains("holds a pipeline") && inPlace.err().contains("--model"), inPlace.err());
        assertTrue(Files.exists(directory.resolve("pipeline/stages")), "the pipeline is still there");
        JobRun elsewhere = JobRun.of("fit", "--input", input, "--update", path("pipeline"), "--model", path("updated"));
        assertEquals(0, elsewhere.exitCode(), elsewhere.err());
        assertEquals(2 * stage.count(), BatchNormalizationModel.load(path("updated")).count());
    }

    @Test
    void emptyAndIncompleteFoldersTablesAndFilesAreNamedForWhatTheyAre() throws IOException {
        Files.createDirectories(directory.resolve("empty"));
        assertEveryReaderSays(path("empty"), "empty folder");
        data.write().parquet(path("table.parquet"));
        assertEveryReaderSays(path("table.parquet"), "holds a table");
        Files.writeString(directory.resolve("notes.txt"), "hello");
        assertEveryReaderSays(path("notes.txt"), "is a file");
        assertEveryReaderSays(path("nowhere"), "does not exist");

        String noData = goodModel("no-data");
        deleteTree(directory.resolve("no-data/data"));
        assertEveryReaderSays(noData, "incomplete", "data folder");
        String noMetadata = goodModel("no-metadata-file");
        try (Stream<Path> files = Files.list(directory.resolve("no-metadata-file/metadata"))) {
            for (Path file : files.toList()) {
                Files.delete(file);
            }
        }
        assertEveryReaderSays(noMetadata, "incomplete", "metadata");
    }

    @Test
    void corruptMetadataCorruptDataAndAFutureFormatAreRefused() throws IOException {
        String garbled = goodModel("garbled");
        rewriteMetadata("garbled", "{\"class\": \"io.github.batchnorm.BatchNormalizationModel\", \"uid\": ");
        assertEveryReaderSays(garbled, "corrupt model metadata", "not valid JSON");

        String future = goodModel("future");
        rewriteMetadata("future", metadataText("future").replace("\"formatVersion\":2", "\"formatVersion\":99"));
        assertEveryReaderSays(future, "format version 99", "newer");

        String badParam = goodModel("bad-param");
        rewriteMetadata("bad-param", metadataText("bad-param").replace("\"epsilon\":1.0E-5", "\"epsilon\":\"tiny\""));
        assertEveryReaderSays(badParam, "corrupt model metadata", "'epsilon'");

        String badData = goodModel("bad-data");
        try (Stream<Path> files = Files.list(directory.resolve("bad-data/data"))) {
            for (Path file : files.toList()) {
                if (file.getFileName().toString().endsWith(".parquet")) {
                    Files.writeString(file, "these bytes are not parquet");
                } else if (file.getFileName().toString().endsWith(".crc")) {
                    Files.delete(file);
                }
            }
        }
        assertEveryReaderSays(badData, "corrupt or unreadable statistics");
    }

    private Path metadataFile(String model) throws IOException {
        try (Stream<Path> files = Files.list(directory.resolve(model).resolve("metadata"))) {
            return files.filter(file -> file.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
        }
    }

    private String metadataText(String model) throws IOException {
        String text = Files.readString(metadataFile(model));
        assertTrue(text.contains("\"formatVersion\":2") && text.contains("\"epsilon\":1.0E-5"), text);
        return text;
    }

    /** Replaces the metadata file and drops its checksum, as a hand edit or a bad copy would. */
    private void rewriteMetadata(String model, String text) throws IOException {
        Path file = metadataFile(model);
        Files.writeString(file, text);
        Files.deleteIfExists(file.resolveSibling("." + file.getFileName() + ".crc"));
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path file : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
        }
    }
}
