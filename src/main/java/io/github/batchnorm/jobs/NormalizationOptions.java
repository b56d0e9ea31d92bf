package io.github.batchnorm.jobs;

import io.github.batchnorm.BatchNormalization;
import io.github.batchnorm.BatchNormalizationModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** The options that shape a fit: which columns, and every param of the estimator. */
final class NormalizationOptions {
    static final String OUTPUT_SUFFIX = "_bn";

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Columns columns;

    static final class Columns {
        @Option(names = "--input-cols", split = ",", paramLabel = "COL", description = "${bundle:param.inputCols}")
        List<String> inputCols;

        @Option(names = "--input-col", paramLabel = "COL", description = "${bundle:param.inputCol}")
        String inputCol;
    }

    @Option(names = "--output-cols", split = ",", paramLabel = "COL",
            description = "Output names for --input-cols; default: each input name + '_bn'.")
    List<String> outputCols;

    @Option(names = "--output-col", paramLabel = "COL", description = "Output name for --input-col; default: input + '_bn'.")
    String outputCol;

    @Option(names = "--epsilon", paramLabel = "E", description = "${bundle:param.epsilon}")
    Double epsilon;

    @Option(names = "--gamma", split = ",", paramLabel = "V",
            description = {"${bundle:param.gamma}", "Here: one value for every feature, or one per feature."})
    double[] gamma;

    @Option(names = "--beta", split = ",", paramLabel = "V",
            description = {"${bundle:param.beta}", "Here: one value for every feature, or one per feature."})
    double[] beta;

    @Option(names = "--no-center", description = "Sets center to false. center: ${bundle:param.center}")
    boolean noCenter;

    @Option(names = "--no-scale", description = "Sets scale to false. scale: ${bundle:param.scale}")
    boolean noScale;

    @Option(names = "--variance", paramLabel = "MODE", description = "${bundle:param.varianceMode}")
    String variance;

    @Option(names = "--weight-col", paramLabel = "COL", description = "${bundle:param.weightCol}")
    String weightCol;

    @Option(names = "--handle-invalid", paramLabel = "MODE",
            description = "${bundle:param.handleInvalid}")
    String handleInvalid;

    @Option(names = "--summation", paramLabel = "MODE", description = "${bundle:param.summation}")
    String summation;

    @Option(names = "--group-cols", split = ",", paramLabel = "COL", description = "${bundle:param.groupCols}")
    List<String> groupCols;

    @Option(names = "--handle-unseen-group", paramLabel = "MODE", description = "${bundle:param.handleUnseenGroup}")
    String handleUnseenGroup;

    @Option(names = "--min-group-count", paramLabel = "N", description = "${bundle:param.minGroupCount}")
    Integer minGroupCount;

    @Option(names = "--momentum", paramLabel = "M", description = {"${bundle:param.momentum}", "Here: used by fit --update, and saved with the model."})
    Double momentum;

    /** The estimator these options describe; gamma and beta are applied to the model once its size is known. */
    BatchNormalization estimator() {
        if (columns == null) {
            throw new UsageException("Give the input columns: --input-cols a,b,c (numeric columns, one feature each) or"
                    + " --input-col COL (one Vector or array column).");
        }
        BatchNormalization estimator = new BatchNormalization();
        if (columns.inputCols != null) {
            if (outputCol != null) {
                throw new UsageException("--output-col goes with --input-col; with --input-cols use --output-cols.");
            }
            String[] inputs = columns.inputCols.toArray(new String[0]);
            String[] outputs = outputCols != null ? outputCols.toArray(new String[0])
                    : Arrays.stream(inputs).map(name -> name + OUTPUT_SUFFIX).toArray(String[]::new);
            estimator.setInputCols(inputs).setOutputCols(outputs);
        } else {
            if (outputCols != null) {
                throw new UsageException("--output-cols goes with --input-cols; with --input-col use --output-col.");
            }
            estimator.setInputCol(columns.inputCol).setOutputCol(outputCol != null ? outputCol : columns.inputCol
                    + OUTPUT_SUFFIX);
        }
        if (epsilon != null) {
            option("--epsilon", epsilon, "a finite number >= 0", () -> estimator.setEpsilon(epsilon));
        }
        estimator.setCenter(!noCenter).setScale(!noScale);
        if (variance != null) {
            option("--variance", variance, "population or sample", () -> estimator.setVarianceMode(variance));
        }
        if (weightCol != null) {
            estimator.setWeightCol(weightCol);
        }
        if (handleInvalid != null) {
            option("--handle-invalid", handleInvalid, "error, skip or keep", () -> estimator.setHandleInvalid(handleInvalid));
        }
        if (summation != null) {
            option("--summation", summation, "fast or exact", () -> estimator.setSummation(summation));
        }
        if (groupCols != null) {
            option("--group-cols", groupCols, "column names", () -> estimator.setGroupCols(
                    groupCols.toArray(new String[0])));
        }
        if (handleUnseenGroup != null) {
            option("--handle-unseen-group", handleUnseenGroup, "error, global or skip",
                    () -> estimator.setHandleUnseenGroup(handleUnseenGroup));
        }
        if (minGroupCount != null) {
            option("--min-group-count", minGroupCount, "an integer >= 1", () -> estimator.setMinGroupCount(minGroupCount));
        }
        if (momentum != null) {
            option("--momentum", momentum, "a number in [0, 1)", () -> estimator.setMomentum(momentum));
        }
        return estimator;
    }

    /**
     * The options that set a param of the fit (everything but the input columns and momentum), as typed, in the order
     * they are declared: an update keeps the model's own params, so it refuses these.
     */
    List<String> paramOptionsGiven() {
        List<String> given = new ArrayList<>();
        addIf(given, outputCols != null, "--output-cols");
        addIf(given, outputCol != null, "--output-col");
        addIf(given, epsilon != null, "--epsilon");
        addIf(given, gamma != null, "--gamma");
        addIf(given, beta != null, "--beta");
        addIf(given, noCenter, "--no-center");
        addIf(given, noScale, "--no-scale");
        addIf(given, variance != null, "--variance");
        addIf(given, weightCol != null, "--weight-col");
        addIf(given, handleInvalid != null, "--handle-invalid");
        addIf(given, summation != null, "--summation");
        addIf(given, groupCols != null, "--group-cols");
        addIf(given, handleUnseenGroup != null, "--handle-unseen-group");
        addIf(given, minGroupCount != null, "--min-group-count");
        return given;
    }

    private static void addIf(List<String> names, boolean given, String name) {
        if (given) {
            names.add(name);
        }
    }

    /**
     * For an update: fails unless the input columns given (if any) are the model's own, and sets {@code --momentum} on the
     * model if given.
     */
    BatchNormalizationModel applyToUpdate(BatchNormalizationModel model) {
        if (columns != null) {
            boolean modelMulti = model.isSet(model.inputCols());
            String modelColumns = modelMulti ? "input columns " + String.join(",", model.getInputCols())
                    : "input column " + model.getInputCol();
            if (columns.inputCols != null) {
                if (!modelMulti || !Arrays.equals(columns.inputCols.toArray(new String[0]), model.getInputCols())) {
                    throw new UsageException("--input-cols " + String.join(",", columns.inputCols) + " does not match the"
                            + " model's " + modelColumns + ".");
                }
            } else if (modelMulti || !columns.inputCol.equals(model.getInputCol())) {
                throw new UsageException("--input-col " + columns.inputCol + " does not match the model's " + modelColumns
                        + ".");
            }
        }
        if (momentum != null) {
            option("--momentum", momentum, "a number in [0, 1)", () -> model.setMomentum(momentum));
        }
        return model;
    }

    /** Applies an option through its param's validator, reporting a rejection in the option's own terms. */
    private static void option(String name, Object value, String accepted, Runnable apply) {
        try {
            apply.run();
        } catch (IllegalArgumentException e) {
            throw new UsageException("Invalid value for " + name + ": '" + value + "'; expected " + accepted + ".");
        }
    }

    /** Sets gamma and beta on a fitted model, expanding a single value to every feature. */
    BatchNormalizationModel applyAffine(BatchNormalizationModel model) {
        if (gamma != null) {
            model.setGamma(expand("--gamma", gamma, model.numFeatures()));
        }
        if (beta != null) {
            model.setBeta(expand("--beta", beta, model.numFeatures()));
        }
        return model;
    }

    private static double[] expand(String option, double[] values, int numFeatures) {
        if (values.length == 1) {
            double[] filled = new double[numFeatures];
            Arrays.fill(filled, values[0]);
            return filled;
        }
        if (values.length != numFeatures) {
            throw new UsageException(option + " has " + values.length + " values, but there are " + numFeatures
                    + " features: give one value, or one per feature.");
        }
        return values;
    }

    /** Validates option values that do not need the data, so bad values fail before any reading. */
    void validate() {
        estimator();
        validateValues();
    }

    /** Validates the values of gamma, beta and momentum, which need neither the columns nor the data. */
    void validateValues() {
        if (momentum != null) {
            option("--momentum", momentum, "a number in [0, 1)", () -> new BatchNormalization().setMomentum(momentum));
        }
        if (gamma != null) {
            option("--gamma", java.util.Arrays.toString(gamma), "finite numbers", () -> new BatchNormalization()
                    .setGamma(gamma));
        }
        if (beta != null) {
            option("--beta", java.util.Arrays.toString(beta), "finite numbers", () -> new BatchNormalization()
                    .setBeta(beta));
        }
    }
}
