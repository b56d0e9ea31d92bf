package io.github.batchnorm.jobs;

import io.github.batchnorm.BatchNormalization;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.stats.FeatureStatistics;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code batchnorm fit-transform}: fits on a table, writes it normalised, and shows the statistics before and after. */
@Command(name = "fit-transform", mixinStandardHelpOptions = true,
        description = "Fit on a table and write it normalised; optionally save the model.")
final class FitTransformCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Also save the model here.")
    String model;

    @Option(names = "--overwrite", description = "Replace an existing output or model.")
    boolean overwrite;

    @Mixin
    NormalizationOptions normalization;

    @Mixin
    InputTableOptions input;

    @Mixin
    OutputTableOptions output;

    @Mixin
    BatchNormJob.SparkOptions sparkOptions;

    @Override
    public Integer call() {
        normalization.validate();
        SparkSession spark = sparkOptions.session("fit-transform");
        TableIO io = new TableIO(spark, spec.commandLine().getErr());
        io.requireSeparate(TableIO.Place.read("--input", input.path), TableIO.Place.written("--output", output.path),
                model == null ? null : TableIO.Place.written("--model", model));
        io.requireWritable(output.path, overwrite, "Output");
        io.requireNotModel(output.path);
        if (model != null) {
            io.requireWritable(model, overwrite, "Model");
            io.requireModelOrAbsent(model);
        }
        String inputFormat = input.format(io);
        Dataset<Row> table = io.read(input.path, inputFormat, input.schema).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long started = System.nanoTime();
            BatchNormalizationModel fitted = normalization.applyAffine(normalization.estimator().fit(table));
            Dataset<Row> normalized = fitted.transform(table).persist(StorageLevel.MEMORY_AND_DISK());
            output.write(io, normalized, inputFormat, overwrite);
            double seconds = (System.nanoTime() - started) / 1e9;
            if (model != null) {
                ModelFiles.save(io, fitted, model, overwrite);
            }
            var out = spec.commandLine().getOut();
            out.println("Before (fitted statistics):");
            out.print(ModelReport.table(fitted));
            out.println();
            out.println("After (statistics of the normalised output):");
            out.print(after(fitted, normalized));
            out.printf(Locale.ROOT, "Fitted and wrote %d rows in %.2f s to %s%s%n", fitted.count(), seconds, output.path,
                    model == null ? "" : "; model saved to " + model);
            normalized.unpersist();
            return BatchNormJob.OK;
        } finally {
            table.unpersist();
        }
    }

    /** The outputs' own mean and population variance, measured with the same one-pass statistics. */
    private static String after(BatchNormalizationModel fitted, Dataset<Row> normalized) {
        BatchNormalization measure = new BatchNormalization().setHandleInvalid("keep");
        List<String> names;
        if (fitted.isSet(fitted.outputCols())) {
            String[] outputs = fitted.getOutputCols();
            measure.setInputCols(outputs).setOutputCols(java.util.Arrays.stream(outputs).map(name -> name + "__after")
                    .toArray(String[]::new));
            names = List.of(outputs);
        } else {
            measure.setInputCol(fitted.getOutputCol()).setOutputCol(fitted.getOutputCol() + "__after");
            names = new java.util.ArrayList<>();
            for (int j = 0; j < fitted.numFeatures(); j++) {
                names.add(fitted.getOutputCol() + "[" + j + "]");
            }
        }
        FeatureStatistics statistics = measure.fit(normalized).statistics();
        return ModelReport.afterTable(names, statistics.mean(),
                statistics.variance(io.github.batchnorm.stats.VarianceMode.POPULATION));
    }
}
