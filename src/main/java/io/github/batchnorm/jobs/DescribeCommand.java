package io.github.batchnorm.jobs;

import io.github.batchnorm.BatchNormalizationModel;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code batchnorm describe}: prints a saved model's params and per-feature statistics. */
@Command(name = "describe", mixinStandardHelpOptions = true, description = "Show a saved model as a table or as JSON.")
final class DescribeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A model saved by fit.")
    String model;

    @Option(names = "--json", description = "One JSON object; every number parses back to the identical double.")
    boolean json;

    @Mixin
    BatchNormJob.SparkOptions sparkOptions;

    @Override
    public Integer call() {
        BatchNormalizationModel fitted = ModelFiles.load(new TableIO(sparkOptions.session("describe"), spec.commandLine().getErr()), model);
        spec.commandLine().getOut().print(json ? ModelReport.json(fitted) + "\n" : ModelReport.table(fitted));
        return BatchNormJob.OK;
    }
}
