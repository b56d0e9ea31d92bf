package io.github.batchnorm.jobs;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.ExactReference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code jobs/batchnorm} script run as a user runs it, in its own process, for its exit status: 0 success, 2 input
 * the user can fix, 1 anything else. Runs after {@code package} (the script starts the packaged jar).
 */
@DisplayName("The jobs/batchnorm script, run as a process, exits 0, 2 or 1")
class BatchNormScriptIT {
    private static final int ROWS = 120;
    private static final double[][] VALUES = Data.dense(181, ROWS, 2);
    /** The checkout's root, which the build passes in (system property batchnorm.root); else the working directory. */
    private static final Path SCRIPT = Path.of(System.getProperty("batchnorm.root", "")).toAbsolutePath()
            .resolve("jobs").resolve("batchnorm");

    @TempDir
    Path directory;

    /** What one run of the script did. */
    private record Run(int exitCode, String out, String err) {
    }

    @BeforeAll
    static void theScriptIsHere() {
        assertTrue(Files.isExecutable(SCRIPT), SCRIPT + " is executable");
    }

    private Run run(Map<String, String> environment, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(SCRIPT.toString()));
        command.addAll(Arrays.asList(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile())
                .redirectOutput(directory.resolve("stdout.txt").toFile())
                .redirectError(directory.resolve("stderr.txt").toFile());
        builder.environment().putAll(environment);
        Process process = builder.start();
        if (!process.waitFor(5, TimeUnit.MINUTES)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("jobs/batchnorm " + String.join(" ", args) + " did not finish in 5 minutes");
        }
        Run run = new Run(process.exitValue(), Files.readString(directory.resolve("stdout.txt")),
                Files.readString(directory.resolve("stderr.txt")));
        Files.delete(directory.resolve("stdout.txt"));
        Files.delete(directory.resolve("stderr.txt"));
        return run;
    }

    private Path writeInput() throws IOException {
        StringBuilder csv = new StringBuilder("id,a,b\n");
        for (int r = 0; r < ROWS; r++) {
            // Double.toString is the shortest text that reads back as the same double.
            csv.append(r).append(',').append(VALUES[r][0]).append(',').append(VALUES[r][1]).append('\n');
        }
        return Files.writeString(directory.resolve("input.csv"), csv, StandardCharsets.UTF_8);
    }

    /** The last line the script printed to stderr: its one-line message (Spark may log before it). */
    private static String lastLine(String text) {
        String[] lines = text.strip().split("\n");
        return lines[lines.length - 1];
    }

    @Test
    void aSuccessfulRunExitsZeroAndWritesTheReferenceValues() throws Exception {
        Path input = writeInput();
        Path output = directory.resolve("out.csv");
        Run run = run(Map.of(), "fit-transform", "--input", input.toString(), "--input-cols", "a,b", "--output",
                output.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("Fitted and wrote " + ROWS + " rows"), run.out());

        ExactReference reference = ExactReference.of(VALUES);
        double[][] written = new double[ROWS][];
        List<Path> parts;
        try (Stream<Path> files = Files.list(output)) {
            parts = files.filter(file -> file.getFileName().toString().matches("part-.*\\.csv")).toList();
        }
        for (Path part : parts) {
            List<String> lines = Files.readAllLines(part);
            List<String> header = List.of(lines.get(0).split(","));
            assertEquals(List.of("id", "a", "b", "a_bn", "b_bn"), header);
            for (String line : lines.subList(1, lines.size())) {
                String[] fields = line.split(",");
                int id = Integer.parseInt(fields[0]);
                assertNull(written[id], "row " + id + " written once");
                written[id] = new double[] {Double.parseDouble(fields[3]), Double.parseDouble(fields[4])};
            }
        }
        for (int r = 0; r < ROWS; r++) {
            assertNotNull(written[r], "row " + r + " written");
            for (int j = 0; j < 2; j++) {
                double expected = reference.normalize(j, VALUES[r][j], false, 1e-5, 1, 0, true, true);
                assertClose(expected, written[r][j], 1e-12, 1.0, "row " + r + " feature " + j);
            }
        }
    }

    @Test
    void inputTheUserCanFixExitsTwoWithOneLineAndWritesNothing() throws Exception {
        Path input = writeInput();
        Path output = directory.resolve("out.csv");
        Run run = run(Map.of(), "fit-transform", "--input", input.toString(), "--input-cols", "a,zzz", "--output",
                output.toString());
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("batchnorm: Input column 'zzz' does not exist. Available columns: id, a, b.", run.err().strip());
        assertFalse(Files.exists(output));

        Run usage = run(Map.of(), "fit", "--input", input.toString(), "--input-cols", "a", "--model",
                directory.resolve("model").toString(), "--epsilon", "-1");
        assertEquals(2, usage.exitCode(), usage.err());
        assertEquals("batchnorm: Invalid value for --epsilon: '-1.0'; expected a finite number >= 0.",
                usage.err().strip());
    }

    @Test
    void aFailureInsideSparkExitsOneNotTwo() throws Exception {
        // Spark's own configuration check (a require inside SparkConf, an IllegalArgumentException) fails the job
        // before it reads anything: nothing the input or the options could fix.
        Path input = writeInput();
        Path output = directory.resolve("out.csv");
        Run run = run(Map.of("BATCHNORM_JAVA_OPTS", "-Dspark.network.timeout=1s -Dspark.executor.heartbeatInterval=10s"),
                "fit-transform", "--input", input.toString(), "--input-cols", "a,b", "--output", output.toString());
        assertEquals(1, run.exitCode(), run.err());
        String message = lastLine(run.err());
        assertTrue(message.startsWith("batchnorm: SparkIllegalArgumentException: ")
                && message.contains("spark.network.timeout"), message);
        assertFalse(Files.exists(output));
    }
}
