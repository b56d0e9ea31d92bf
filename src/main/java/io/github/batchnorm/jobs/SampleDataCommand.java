package io.github.batchnorm.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code batchnorm sample-data}: writes {@code data/people.csv}, the classic case for normalisation: features on wildly
 * different scales (age 1..100 next to salary 10,000..1,000,000) and a binary label that depends on several of them
 * equally once they are standardised. Deterministic for a given seed; plain Java, no Spark.
 */
@Command(name = "sample-data", mixinStandardHelpOptions = true,
        description = "Write the sample table data/people.csv (deterministic for a seed).")
final class SampleDataCommand implements Callable<Integer> {
    static final String HEADER = "id,age,salary,years_employed,credit_score,monthly_purchases,avg_basket,label";

    @Spec
    CommandSpec spec;

    @Option(names = "--output", paramLabel = "FILE", defaultValue = "data/people.csv", description = "Default: ${DEFAULT-VALUE}.")
    Path output;

    @Option(names = "--rows", defaultValue = "10000", description = "Default: ${DEFAULT-VALUE}.")
    int rows;

    @Option(names = "--seed", defaultValue = "42", description = "Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() {
        if (rows < 1) {
            throw new UsageException("--rows must be at least 1 but was " + rows + ".");
        }
        try {
            Path parent = output.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path temporary = Files.createTempFile(parent, "." + output.getFileName(), ".tmp");
            try (Writer writer = Files.newBufferedWriter(temporary, StandardCharsets.UTF_8)) {
                write(writer, rows, seed);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(temporary);
                throw e;
            }
            Files.move(temporary, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        spec.commandLine().getOut().println("Wrote " + rows + " rows to " + output);
        return BatchNormJob.OK;
    }

    /** The generator itself: one row per line after the header. */
    static void write(Writer writer, int rows, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        writer.write(HEADER + "\n");
        for (int id = 1; id <= rows; id++) {
            int age = random.nextInt(1, 101);
            long salary = Math.round(Math.pow(10, random.nextDouble(4, 6)));
            int yearsEmployed = age <= 16 ? 0 : random.nextInt(0, Math.min(age - 16, 50) + 1);
            int creditScore = (int) Math.max(300, Math.min(850, Math.round(650 + 80 * gaussian(random))));
            int monthlyPurchases = (int) Math.round(-20 * Math.log(1 - random.nextDouble()));
            double avgBasket = Math.max(1, Math.min(2000, Math.exp(Math.log(50) + 0.8 * gaussian(random))));
            // The label weighs age, salary and credit score equally on their own scales: invisible to a model that
            // sees salary's raw magnitude swamp the others.
            double z = 1.5 * (age - 50.5) / 28.9 - 1.5 * (salary - 215_000) / 230_000 + 1.0 * (creditScore - 650) / 80.0
                    + 0.4 * gaussian(random);
            int label = z > 0 ? 1 : 0;
            writer.write(String.format(Locale.ROOT, "%d,%d,%d,%d,%d,%d,%.2f,%d%n", id, age, salary, yearsEmployed,
                    creditScore, monthlyPurchases, avgBasket, label));
        }
    }

    private static double gaussian(SplittableRandom random) {
        double u = 1.0 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }
}
