package io.github.batchnorm.jobs;

import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.RunningModel;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code batchnorm fit}: fits a model on a table and saves it, or merges a table into a saved model ({@code --update}). */
@Command(name = "fit", mixinStandardHelpOptions = true, description = "Fit batch-normalisation statistics and save the"
        + " model, or update a saved model with new data (--update).")
final class FitCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Where to save the model; with --update, where to save"
            + " the updated model instead of replacing the one updated.")
    String model;

    @Option(names = "--update", paramLabel = "DIR", description = "Update the model saved in DIR with the input (exactly,"
            + " or as a moving average with --momentum) and save it back in place, all-or-nothing.")
    String update;

    @Option(names = "--overwrite", description = "Replace an existing model directory.")
    boolean overwrite;

    @Mixin
    InputTableOptions input;

    @Mixin
    NormalizationOptions normalization;

    @Mixin
    BatchNormJob.SparkOptions sparkOptions;

    @Override
    public Integer call() {
        if (update != null) {
            return update();
        }
        if (model == null) {
            throw new UsageException("Give --model DIR to save the fitted model, or --update DIR to update a saved one.");
        }
        normalization.validate();
        SparkSession spark = sparkOptions.session("fit");
        TableIO io = new TableIO(spark, spec.commandLine().getErr());
        io.requireSeparate(TableIO.Place.read("--input", input.path), TableIO.Place.written("--model", model));
        io.requireWritable(model, overwrite, "Model");
        io.requireModelOrAbsent(model);
        Dataset<Row> table = input.read(io);
        long started = System.nanoTime();
        BatchNormalizationModel fitted = normalization.applyAffine(normalization.estimator().fit(table));
        double seconds = (System.nanoTime() - started) / 1e9;
        ModelFiles.save(io, fitted, model, overwrite);
        spec.commandLine().getOut().print(ModelReport.table(fitted));
        spec.commandLine().getOut().printf(Locale.ROOT, "Fitted in %.2f s; model saved to %s%n", seconds, model);
        return BatchNormJob.OK;
    }

    /**
     * Loads the model in {@code update}, merges the input into it and saves it (back in place, or to {@code model}). The
     * model keeps its own params: options that would change them are refused, input columns must be the model's.
     */
    private Integer update() {
        List<String> conflicting = normalization.paramOptionsGiven();
        if (!conflicting.isEmpty()) {
            throw new UsageException(conflicting.get(0) + " cannot be combined with --update: an update keeps the model's"
                    + " params; only --input-cols/--input-col (which must be the model's) and --momentum may be given.");
        }
        normalization.validateValues();
        SparkSession spark = sparkOptions.session("fit --update");
        TableIO io = new TableIO(spark, spec.commandLine().getErr());
        String target = model == null || samePath(model, update) ? update : model;
        io.requireSeparate(TableIO.Place.read("--input", input.path), target.equals(update)
                ? TableIO.Place.written("--update", update) : TableIO.Place.read("--update", update),
                target.equals(update) ? null : TableIO.Place.written("--model", target));
        if (!target.equals(update)) {
            io.requireWritable(target, overwrite, "Model");
            io.requireModelOrAbsent(target);
        }
        // A replacement that crashed between its two renames left the last good model beside the path: put it back.
        io.recover(update);
        if (!io.exists(update)) {
            throw new UsageException("Model '" + update + "' does not exist: fit one first (without --update).");
        }
        if (target.equals(update) && io.exists(new org.apache.hadoop.fs.Path(update, RunningModel.LAST_BATCH_FILE)
                .toString())) {
            // Replacing it here would drop the record of the last micro-batch, and a restarted stream would count
            // batches it already contains again.
            throw new UsageException("Model '" + update + "' is kept current by a stream (it records the last"
                    + " micro-batch it contains); update it from the stream, or save this update elsewhere with --model.");
        }
        if (target.equals(update) && !ModelFiles.locate(io, update).path().equals(update)) {
            // Saving the updated stage in place would replace the whole pipeline folder with one model.
            throw new UsageException("--update '" + update + "' holds a pipeline, which an update in place would"
                    + " replace with a single model: save the update elsewhere with --model, or update the stage's own"
                    + " folder '" + ModelFiles.locate(io, update).path() + "'.");
        }
        BatchNormalizationModel saved = normalization.applyToUpdate(ModelFiles.load(io, update));
        Dataset<Row> table = input.read(io);
        long started = System.nanoTime();
        BatchNormalizationModel updated = saved.update(table);
        double seconds = (System.nanoTime() - started) / 1e9;
        ModelFiles.save(io, updated, target, overwrite || target.equals(update));
        spec.commandLine().getOut().print(ModelReport.table(updated));
        spec.commandLine().getOut().printf(Locale.ROOT, "Updated with %d rows in %.2f s (%s); model saved to %s%n",
                updated.count() - saved.count(), seconds, updated.isSet(updated.momentum())
                        ? "moving average, momentum " + updated.getMomentum() : "exact merge", target);
        return BatchNormJob.OK;
    }

    private static boolean samePath(String a, String b) {
        return new Path(a).toUri().normalize().equals(new Path(b).toUri().normalize());
    }
}
