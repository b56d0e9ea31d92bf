package io.github.batchnorm.jobs;

import io.github.batchnorm.BatchNormalizationModel;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code batchnorm fit}: fits a model on a table and saves it. */
@Command(name = "fit", mixinStandardHelpOptions = true, description = "Fit batch-normalisation statistics and save the"
        + " model.")
final class FitCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--input", required = true, paramLabel = "PATH", description = "Table to fit on.")
    String input;

    @Option(names = "--format", paramLabel = "F", description = "csv, parquet, orc or json; default: from the path.")
    String format;

    @Option(names = "--schema", paramLabel = "DDL", description = "Schema of the input, e.g. 'age INT, salary DOUBLE'.")
    String schema;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Where to save the model.")
    String model;

    @Option(names = "--overwrite", description = "Replace an existing model directory.")
    boolean overwrite;

    @Mixin
    NormalizationOptions normalization;

    @Mixin
    BatchNormJob.SparkOptions sparkOptions;

    @Override
    public Integer call() {
        normalization.validate();
        SparkSession spark = sparkOptions.session("fit");
        TableIO io = new TableIO(spark);
        io.requireWritable(model, overwrite, "Model");
        Dataset<Row> table = io.read(input, io.detectFormat(input, format), schema);
        long started = System.nanoTime();
        BatchNormalizationModel fitted = normalization.applyAffine(normalization.estimator().fit(table));
        double seconds = (System.nanoTime() - started) / 1e9;
        ModelFiles.save(io, fitted, model, overwrite);
        spec.commandLine().getOut().print(ModelReport.table(fitted));
        spec.commandLine().getOut().printf(java.util.Locale.ROOT, "Fitted in %.2f s; model saved to %s%n", seconds, model);
        return BatchNormJob.OK;
    }
}
