package io.github.batchnorm.jobs;

import io.github.batchnorm.BatchNormalization;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code batchnorm demo}: why normalise. Trains Spark's {@code MultilayerPerceptronClassifier} on the sample table twice,
 * with and without a {@code BatchNormalization} stage, same seed and iterations, and prints both test accuracies and
 * training times.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Train a multilayer perceptron on data/people.csv with and without batch normalisation.")
final class DemoCommand implements Callable<Integer> {
    static final String[] FEATURES = {"age", "salary", "years_employed", "credit_score", "monthly_purchases", "avg_basket"};

    @Spec
    CommandSpec spec;

    @Option(names = "--input", defaultValue = "data/people.csv", paramLabel = "PATH", description = "Default: ${DEFAULT-VALUE}.")
    String input;

    @Option(names = "--max-iter", defaultValue = "100", description = "Training iterations. Default: ${DEFAULT-VALUE}.")
    int maxIter;

    @Option(names = "--seed", defaultValue = "1234", description = "Default: ${DEFAULT-VALUE}.")
    long seed;

    @Mixin
    BatchNormJob.SparkOptions sparkOptions;

    @Override
    public Integer call() {
        SparkSession spark = sparkOptions.session("demo");
        TableIO io = new TableIO(spark);
        Dataset<Row> table = io.read(input, io.detectFormat(input, null), null);
        Dataset<Row>[] split = table.randomSplit(new double[] {0.8, 0.2}, seed);
        Dataset<Row> train = split[0].cache();
        Dataset<Row> test = split[1].cache();
        train.count();
        test.count();
        VectorAssembler assembler = new VectorAssembler().setInputCols(FEATURES).setOutputCol("raw");
        var out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "MultilayerPerceptronClassifier, layers [%d, 16, 2], %d iterations, seed %d;"
                + " %d training rows, %d test rows%n", FEATURES.length, maxIter, seed, train.count(), test.count());
        out.printf(Locale.ROOT, "%-26s %14s %18s%n", "pipeline", "test accuracy", "training seconds");
        report(out, "without normalisation", train, test, assembler, classifier("raw"));
        report(out, "with BatchNormalization", train, test, assembler,
                new BatchNormalization().setInputCol("raw").setOutputCol("normalized"), classifier("normalized"));
        return BatchNormJob.OK;
    }

    private MultilayerPerceptronClassifier classifier(String featuresCol) {
        return new MultilayerPerceptronClassifier().setFeaturesCol(featuresCol).setLabelCol("label")
                .setLayers(new int[] {FEATURES.length, 16, 2}).setMaxIter(maxIter).setSeed(seed);
    }

    private static void report(java.io.PrintWriter out, String name, Dataset<Row> train, Dataset<Row> test,
            PipelineStage... stages) {
        long started = System.nanoTime();
        PipelineModel model = new Pipeline().setStages(stages).fit(train);
        double seconds = (System.nanoTime() - started) / 1e9;
        double accuracy = new MulticlassClassificationEvaluator().setLabelCol("label").setMetricName("accuracy")
                .evaluate(model.transform(test));
        out.printf(Locale.ROOT, "%-26s %14.4f %18.2f%n", name, accuracy, seconds);
    }
}
