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

    @Option(names = "--input", required = true, paramLabel = "PATH", description = "Table to normalise.")
    String input;

    @Option(names = "--output", required = true, paramLabel = "PATH", description = "Where to write the result.")
    String output;

    @Option(names = "--format", paramLabel = "F", description = "Input format; default: from the path.")
    String format;

    @Option(names = "--output-format", paramLabel = "F", description = "Output format; default: from the output path,"
            + " else the input format.")
    String outputFormat;

    @Option(names = "--schema", paramLabel = "DDL", description = "Schema of the input.")
    String schema;

    @Option(names = "--overwrite", description = "Replace an existing output.")
    boolean overwrite;

    @Mixin
    BatchNormJob.SparkOptions sparkOptions;

    @Override
    public Integer call() {
        SparkSession spark = sparkOptions.session("transform");
        TableIO io = new TableIO(spark);
        io.requireWritable(output, overwrite, "Output");
        BatchNormalizationModel fitted = ModelFiles.load(io, model);
        String inputFormat = io.detectFormat(input, format);
        Dataset<Row> table = io.read(input, inputFormat, schema);
        io.writeTable(fitted.transform(table), output, OutputFormats.choose(io, output, outputFormat, inputFormat),
                overwrite);
        spec.commandLine().getOut().println("Wrote " + output);
        return BatchNormJob.OK;
    }
}
