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

/** {@code batchnorm transform}: applies a saved model to a table. */
@Command(name = "transform", mixinStandardHelpOptions = true, description = "Normalise a table with a saved model.")
final class TransformCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A model saved by fit.")
    String model;

    @Option(names = "--overwrite", description = "Replace an existing output.")
    boolean overwrite;

    @Mixin
    InputTableOptions input;

    @Mixin
    OutputTableOptions output;

    @Mixin
    BatchNormJob.SparkOptions sparkOptions;

    @Override
    public Integer call() {
        SparkSession spark = sparkOptions.session("transform");
        TableIO io = new TableIO(spark, spec.commandLine().getErr());
        io.requireSeparate(TableIO.Place.read("--input", input.path), TableIO.Place.read("--model", model),
                TableIO.Place.written("--output", output.path));
        io.requireWritable(output.path, overwrite, "Output");
        io.requireNotModel(output.path);
        BatchNormalizationModel fitted = ModelFiles.load(io, model);
        String inputFormat = input.format(io);
        Dataset<Row> table = io.read(input.path, inputFormat, input.schema);
        output.write(io, fitted.transform(table), inputFormat, overwrite);
        spec.commandLine().getOut().println("Wrote " + output.path);
        return BatchNormJob.OK;
    }
}
