package io.github.batchnorm.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Runs the benchmark's tiny shapes: every contender's code path works and the table is well formed (no timing claims). */
@DisplayName("jobs/benchmark --quick")
class BenchmarkSmokeTest {
    @TempDir
    Path directory;

    @Test
    void quickRunMeasuresEveryContenderAndWritesTheTable() throws IOException {
        SparkTestSession.get();
        Path table = directory.resolve("benchmark.md");
        // No warm-up run: this checks that every contender runs and is reported, not how fast.
        int code = new CommandLine(new Benchmark()).execute("--quick", "--warmup", "0", "--output", table.toString());
        assertEquals(0, code);
        List<String> rows = Files.readAllLines(table).stream().filter(line -> line.startsWith("| quick"))
                .collect(Collectors.toList());
        for (String contender : List.of("BatchNormalization.fit", "BatchNormalization.fit, summation=exact",
                "BatchNormalization.fit, handleInvalid=keep",
                "StandardScaler.fit", "scan floor (sum every value)", "BatchNormalizationModel.transform",
                "StandardScalerModel.transform", "column unchanged (floor)", "SQL avg + var_pop (floor)",
                "plain (c - m) * a + b (floor)", "BatchNormalizationModel.transform, handleInvalid=keep",
                "VectorAssembler + StandardScaler fit", "VectorAssembler + StandardScalerModel.transform",
                "plain transform(x, (c - m) * a + b) (floor)", "Vector UDF returning its input",
                "BatchNormalization groupCols fit + transform", "groupBy.agg(avg, var_pop) + broadcast join",
                "window functions")) {
            assertTrue(rows.stream().anyMatch(row -> row.contains("| " + contender + " |")), contender + " in " + rows);
        }
        List<String> taskSummaries = rows.stream().filter(row -> row.contains("| task summary |")).toList();
        assertEquals(1, taskSummaries.size(), "the hashed shape's task summary in " + rows);
        assertTrue(taskSummaries.get(0).matches(".*touched features, [0-9,]+ bytes serialised \\| [0-9.]+ bytes per"
                + " touched feature \\|.*"), taskSummaries.get(0));
        List<String> models = rows.stream().filter(row -> row.contains("| model |")).toList();
        assertEquals(1, models.size(), "the hashed shape's model size in " + rows);
        // QUICK_HASHED has 2^20 features: its summaries are dense from the first row, so its model stores every one.
        assertTrue(models.get(0).matches(".*\\| 1,048,576 of 1,048,576 features stored \\| saved model [0-9,]+ bytes"
                + " \\|.*"), models.get(0));
        for (String row : rows) {
            if (taskSummaries.contains(row) || models.contains(row)) {
                continue;
            }
            String[] cells = row.split("\\|");
            double seconds = Double.parseDouble(cells[4].trim());
            assertTrue(seconds > 0, row);
            assertTrue(Double.parseDouble(cells[6].trim()) > 0, "ratio to the floor: " + row);
        }
        assertEquals(2 * (5 + 4) + (3 + 2) + (3 + 4 + 3) + 3 + (2 + 4 + 3), rows.size(),
                "dense and sparse: 5 fit + 4 transform rows; scalar: 3 + 2; Parquet: 3 fit, 4 scalar and 3 array transform;"
                        + " grouped: 3; hashed: the task summary, the model, 4 + 3");
    }
}
