package io.github.batchnorm.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.ml.util.Identifiable$;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code batchnorm import}: builds a model from statistics trained elsewhere (a Keras or PyTorch layer), given as the JSON
 * object that {@code describe --json} prints, and saves it.
 */
@Command(name = "import", mixinStandardHelpOptions = true, description = "Build a model from statistics trained elsewhere"
        + " (Keras, PyTorch), given as the JSON that describe --json prints, and save it.")
final class ImportCommand implements Callable<Integer> {
    /** Every field of the schema; anything else is refused, so a misspelt field cannot silently take its default. */
    static final List<String> FIELDS = List.of("inputCols", "outputCols", "inputCol", "outputCol", "epsilon",
            "varianceMode", "center", "scale", "momentum", "exact", "numFeatures", "storedFeatures", "implicitFeatures",
            "rowCount", "count", "mean", "variance", "gamma", "beta", "features", "otherFeatures");
    /** The fields of {@code otherFeatures}: the values of every feature not listed in {@code features}. */
    static final List<String> OTHER_FIELDS = List.of("count", "mean", "variance", "gamma", "beta");

    @Spec
    CommandSpec spec;

    @Option(names = "--json", required = true, paramLabel = "FILE", description = "The statistics: one JSON object in the"
            + " schema of describe --json (mean, variance, epsilon and inputCols or inputCol required; numFeatures too"
            + " with features and otherFeatures, the form of a hashed model).")
    String json;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Where to save the model.")
    String model;

    @Option(names = "--overwrite", description = "Replace an existing model directory.")
    boolean overwrite;

    @Mixin
    BatchNormJob.SparkOptions sparkOptions;

    @Override
    public Integer call() {
        TableIO io = new TableIO(sparkOptions.session("import"), spec.commandLine().getErr());
        io.requireSeparate(TableIO.Place.read("--json", json), TableIO.Place.written("--model", model));
        io.requireWritable(model, overwrite, "Model");
        io.requireModelOrAbsent(model);
        BatchNormalizationModel imported = parse(io.readText(json));
        ModelFiles.save(io, imported, model, overwrite);
        spec.commandLine().getOut().print(ModelReport.table(imported));
        spec.commandLine().getOut().println("Imported " + imported.numFeatures() + " features; model saved to " + model);
        return BatchNormJob.OK;
    }

    /** The model the JSON describes, or a {@link UsageException} naming the field that is missing or wrong. */
    BatchNormalizationModel parse(String text) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(text);
        } catch (JsonProcessingException e) {
            throw fail("not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw fail("expected one JSON object");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext();) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw fail("unknown field '" + name + "'; the fields are " + String.join(", ", FIELDS));
            }
        }
        BatchNormalizationModel imported = root.has("features") || root.has("otherFeatures") ? storedFeaturesModel(root)
                : everyFeatureModel(root);
        if (root.has("center")) {
            imported.setCenter(bool(root, "center"));
        }
        if (root.has("scale")) {
            imported.setScale(bool(root, "scale"));
        }
        if (root.has("momentum")) {
            double momentum = number(root, "momentum");
            if (!(momentum >= 0.0 && momentum < 1.0)) {
                throw fail("'momentum' must be in [0, 1) but is " + momentum);
            }
            imported.setMomentum(momentum);
        }
        return imported;
    }

    /** A document with one value per feature in 'mean', 'variance' and the other per-feature arrays. */
    private BatchNormalizationModel everyFeatureModel(JsonNode root) {
        double[] mean = doubles(root, "mean");
        int n = mean.length;
        double[] variance = doubles(root, "variance");
        double[] gamma = root.has("gamma") ? doubles(root, "gamma") : new double[0];
        double[] beta = root.has("beta") ? doubles(root, "beta") : new double[0];
        for (String field : List.of("variance", "gamma", "beta")) {
            int length = field.equals("variance") ? variance.length : field.equals("gamma") ? gamma.length : beta.length;
            if (root.has(field) && length != n) {
                throw fail("'" + field + "' has " + length + " values but 'mean' has " + n + "; give one per feature");
            }
        }
        if (root.has("numFeatures") && (!root.get("numFeatures").canConvertToInt() || root.get("numFeatures").intValue() != n)) {
            throw fail("'numFeatures' is " + root.get("numFeatures") + " but 'mean' has " + n + " values");
        }
        double epsilon = epsilon(root);
        String varianceMode = root.has("varianceMode") ? text(root, "varianceMode") : "population";
        BatchNormalizationModel validated;
        try {
            validated = BatchNormalizationModel.fromStatistics(mean, variance, gamma, beta, epsilon, varianceMode);
        } catch (IllegalArgumentException e) {
            throw fail(e.getMessage().replaceFirst("^fromStatistics: ", "").replaceFirst("\\.$", ""));
        }
        BatchNormalizationModel imported = withCounts(root, validated, mean, variance,
                VarianceMode.fromParam(varianceMode));
        columns(root, imported, n);
        return imported;
    }

    /**
     * A document that lists only its stored features, as {@code describe --json} prints a model of more than 2^20
     * features that stores only some: {@code numFeatures}, {@code features} (the stored features, increasing), one value
     * per listed feature in {@code count}, {@code mean}, {@code variance}, {@code gamma} and {@code beta}, and
     * {@code otherFeatures}, the values of every feature not listed. Those can only be what statistics that store some
     * features say of the others (count {@code rowCount}, mean 0, variance 0) with the default gamma 1 and beta 0, and a
     * listed feature's gamma and beta must be the defaults too: a per-feature gamma or beta is one value per feature of
     * the dimension. The model's statistics store the listed features only, whatever the dimension, so a 2^28-feature
     * model costs what its listed features cost and is saved in format 3, as the model described was.
     */
    private BatchNormalizationModel storedFeaturesModel(JsonNode root) {
        if (!root.has("features") || !root.has("otherFeatures")) {
            String given = root.has("features") ? "features" : "otherFeatures";
            throw fail("'" + given + "' goes with '" + (root.has("features") ? "otherFeatures" : "features")
                    + "': 'features' lists the stored features and 'otherFeatures' gives the values of every other"
                    + " feature");
        }
        if (root.has("inputCols") || root.has("outputCols")) {
            throw fail("a document that lists its stored features in 'features' is of one Vector or array column: give"
                    + " 'inputCol' (and 'outputCol'), not 'inputCols'");
        }
        JsonNode dimension = root.get("numFeatures");
        if (dimension == null) {
            throw fail("'numFeatures' is missing: with 'features', it gives the dimension");
        }
        if (!dimension.isIntegralNumber() || !dimension.canConvertToInt() || dimension.intValue() < 1) {
            throw fail("'numFeatures' must be a whole number from 1 to " + Integer.MAX_VALUE + ", but is " + dimension);
        }
        int numFeatures = dimension.intValue();
        int[] features = featureIndices(root.get("features"), numFeatures);
        int n = features.length;
        double[] mean = doubles(root, "mean");
        requireListed("mean", mean.length, n);
        double[] variance = doubles(root, "variance");
        requireListed("variance", variance.length, n);
        for (String field : List.of("gamma", "beta")) {
            if (!root.has(field)) {
                continue;
            }
            double[] values = doubles(root, field);
            requireListed(field, values.length, n);
            double fill = field.equals("gamma") ? 1.0 : 0.0;
            for (int s = 0; s < n; s++) {
                if (values[s] != fill) {
                    throw fail("'" + field + "' is " + values[s] + " for feature " + features[s] + ", but with 'features'"
                            + " it must be " + fill + " for every feature: a per-feature " + field + " has a value for"
                            + " every feature of the dimension, so give such a model with one value per feature and"
                            + " without 'features'");
                }
            }
        }
        long[] count = counts(root, n, "feature in 'features'");
        long rowCount = otherFeatures(root, count);
        double epsilon = epsilon(root);
        if (!(epsilon >= 0.0) || Double.isInfinite(epsilon)) {
            throw fail("epsilon must be finite and >= 0 but was " + epsilon);
        }
        for (int s = 0; s < n; s++) {
            if (!Double.isFinite(mean[s])) {
                throw fail("'mean' is " + mean[s] + " for feature " + features[s] + "; every mean must be finite");
            }
            if (!Double.isFinite(variance[s]) || variance[s] < 0.0) {
                throw fail("'variance' is " + variance[s] + " for feature " + features[s] + "; every variance must be"
                        + " finite and >= 0");
            }
        }
        VarianceMode mode;
        try {
            mode = VarianceMode.fromParam(root.has("varianceMode") ? text(root, "varianceMode") : "population");
        } catch (IllegalArgumentException e) {
            throw fail(e.getMessage().replaceFirst("\\.$", ""));
        }
        // Weights unknown (0), as for every imported statistics: they are running statistics, not moments to merge.
        double[] unknownWeights = new double[n];
        FeatureStatistics statistics = FeatureStatistics.storedRunning(rowCount, numFeatures, features, count,
                unknownWeights, unknownWeights, mean, variance, 0.0, 0.0, mode);
        BatchNormalizationModel model = new BatchNormalizationModel(Identifiable$.MODULE$.randomUID("batchNorm"),
                statistics).setEpsilon(epsilon).setVarianceMode(mode.paramValue());
        long implicit = ModelReport.implicitFeatures(model);
        requireDerived(root, "implicitFeatures", implicit);
        requireDerived(root, "storedFeatures", numFeatures - implicit);
        columns(root, model, numFeatures);
        return model;
    }

    /** The document's epsilon, which must be given: frameworks differ. Its range is checked with the statistics. */
    private double epsilon(JsonNode root) {
        if (!root.has("epsilon") || !root.get("epsilon").isNumber()) {
            throw fail("'epsilon' must be given as a number: frameworks differ (Keras 1e-3, PyTorch 1e-5), so it has no"
                    + " default here");
        }
        return root.get("epsilon").doubleValue();
    }

    /** The listed features: whole numbers in {@code [0, numFeatures)}, increasing. */
    private int[] featureIndices(JsonNode array, int numFeatures) {
        if (!array.isArray()) {
            throw fail("'features' must be an array of the stored features' indices, increasing");
        }
        int[] features = new int[array.size()];
        for (int s = 0; s < features.length; s++) {
            JsonNode index = array.get(s);
            if (!index.isIntegralNumber() || !index.canConvertToLong()) {
                throw fail("'features' must hold feature indices (whole numbers), but has " + index);
            }
            long j = index.longValue();
            if (j < 0 || j >= numFeatures) {
                throw fail("'features' has " + j + " at position " + s + ", outside [0, " + numFeatures + ") given by"
                        + " 'numFeatures'");
            }
            if (s > 0 && j <= features[s - 1]) {
                throw fail("'features' has " + j + " after " + features[s - 1] + " at position " + s + "; the stored"
                        + " features must be listed once each, increasing");
            }
            features[s] = (int) j;
        }
        return features;
    }

    private void requireListed(String field, int length, int listed) {
        if (length != listed) {
            throw fail("'" + field + "' has " + length + " values but 'features' lists " + listed + " features; give"
                    + " one per listed feature");
        }
    }

    /**
     * Checks {@code otherFeatures} against the only values a feature not listed can have, and returns the row count:
     * {@code rowCount}, else {@code otherFeatures.count} (a feature not listed was zero in every row), else the largest
     * listed count.
     */
    private long otherFeatures(JsonNode root, long[] count) {
        JsonNode others = root.get("otherFeatures");
        if (!others.isObject()) {
            throw fail("'otherFeatures' must be an object with the " + String.join(", ", OTHER_FIELDS) + " of every"
                    + " feature not in 'features'");
        }
        for (Iterator<String> names = others.fieldNames(); names.hasNext();) {
            String name = names.next();
            if (!OTHER_FIELDS.contains(name)) {
                throw fail("unknown field 'otherFeatures." + name + "'; its fields are " + String.join(", ",
                        OTHER_FIELDS));
            }
        }
        String[] rule = {"mean", "variance", "gamma", "beta"};
        double[] values = {0.0, 0.0, 1.0, 0.0};
        for (int r = 0; r < rule.length; r++) {
            JsonNode value = others.get(rule[r]);
            if (value != null && (!value.isNumber() || value.doubleValue() != values[r])) {
                throw fail("'otherFeatures." + rule[r] + "' is " + value + " but must be " + values[r] + ": a feature"
                        + " not in 'features' is zero in every row (mean 0, variance 0) and has the default gamma 1"
                        + " and beta 0; list a feature with other values in 'features'");
            }
        }
        Long ruleCount = null;
        if (others.has("count")) {
            JsonNode value = others.get("count");
            if (!value.isIntegralNumber() || !value.canConvertToLong() || value.longValue() < 0) {
                throw fail("'otherFeatures.count' must be a whole number >= 0, but is " + value);
            }
            ruleCount = value.longValue();
        }
        long rowCount = root.has("rowCount") ? rowCount(root) : ruleCount != null ? ruleCount
                : Arrays.stream(count).max().orElse(0);
        if (ruleCount != null && ruleCount != rowCount) {
            throw fail("'otherFeatures.count' is " + ruleCount + " but 'rowCount' is " + rowCount + ": a feature not in"
                    + " 'features' is zero in every row, so its count is rowCount");
        }
        return rowCount;
    }

    /** The model with the JSON's counts, if any: how much data the statistics came from, for information. */
    private BatchNormalizationModel withCounts(JsonNode root, BatchNormalizationModel validated, double[] mean,
            double[] variance, VarianceMode mode) {
        if (!root.has("count") && !root.has("rowCount")) {
            return validated;
        }
        long[] count = counts(root, mean.length, "feature");
        long rowCount = root.has("rowCount") ? rowCount(root) : Arrays.stream(count).max().orElse(0);
        double[] unknownWeights = new double[mean.length];
        BatchNormalizationModel counted = new BatchNormalizationModel(validated.uid(), FeatureStatistics.running(rowCount,
                count, unknownWeights, unknownWeights, mean, variance, mode));
        BatchNormalizationModel model = counted.setEpsilon(validated.getEpsilon()).setGamma(validated.getGamma())
                .setBeta(validated.getBeta()).setVarianceMode(validated.getVarianceMode());
        // Derived fields that describe --json writes: read back only to catch a file edited out of step with its arrays.
        long implicit = ModelReport.implicitFeatures(model);
        requireDerived(root, "implicitFeatures", implicit);
        requireDerived(root, "storedFeatures", mean.length - implicit);
        return model;
    }

    /** The document's 'count': {@code n} whole numbers {@code >= 0}, one per {@code per}; zeros when it is absent. */
    private long[] counts(JsonNode root, int n, String per) {
        long[] count = new long[n];
        if (root.has("count")) {
            JsonNode counts = root.get("count");
            if (!counts.isArray() || counts.size() != n) {
                throw fail("'count' must be an array of " + n + " whole numbers, one per " + per);
            }
            for (int j = 0; j < count.length; j++) {
                if (!counts.get(j).canConvertToLong() || !counts.get(j).isIntegralNumber() || counts.get(j).longValue() < 0) {
                    throw fail("'count' must hold whole numbers >= 0, but has " + counts.get(j));
                }
                count[j] = counts.get(j).longValue();
            }
        }
        return count;
    }

    private long rowCount(JsonNode root) {
        JsonNode rows = root.get("rowCount");
        if (!rows.isIntegralNumber() || !rows.canConvertToLong() || rows.longValue() < 0) {
            throw fail("'rowCount' must be a whole number >= 0, but is " + rows);
        }
        return rows.longValue();
    }

    private void requireDerived(JsonNode root, String field, long expected) {
        if (root.has(field) && (!root.get(field).isIntegralNumber() || root.get(field).longValue() != expected)) {
            throw fail("'" + field + "' is " + root.get(field) + " but the statistics give " + expected
                    + " (implicit: zero in every row, so count = rowCount, mean 0 and variance 0); correct it or leave it"
                    + " out");
        }
    }

    private void columns(JsonNode root, BatchNormalizationModel imported, int n) {
        boolean multi = root.has("inputCols");
        if (multi == root.has("inputCol")) {
            throw fail("give 'inputCols' (the numeric columns, one per feature) or 'inputCol' (one Vector or array"
                    + " column), not both and not neither");
        }
        if (multi) {
            if (root.has("outputCol")) {
                throw fail("'outputCol' goes with 'inputCol'; with 'inputCols' give 'outputCols'");
            }
            String[] inputs = strings(root, "inputCols");
            if (inputs.length != n) {
                throw fail("'inputCols' names " + inputs.length + " columns but 'mean' has " + n + " values");
            }
            String[] outputs = root.has("outputCols") ? strings(root, "outputCols")
                    : Arrays.stream(inputs).map(name -> name + NormalizationOptions.OUTPUT_SUFFIX).toArray(String[]::new);
            if (outputs.length != n) {
                throw fail("'outputCols' names " + outputs.length + " columns but 'inputCols' names " + n);
            }
            imported.setInputCols(inputs).setOutputCols(outputs);
        } else {
            if (root.has("outputCols")) {
                throw fail("'outputCols' goes with 'inputCols'; with 'inputCol' give 'outputCol'");
            }
            String input = text(root, "inputCol");
            imported.setInputCol(input).setOutputCol(root.has("outputCol") ? text(root, "outputCol")
                    : input + NormalizationOptions.OUTPUT_SUFFIX);
        }
    }

    private double[] doubles(JsonNode root, String field) {
        JsonNode array = root.get(field);
        if (array == null) {
            throw fail("'" + field + "' is missing: give an array of numbers, one per feature");
        }
        if (!array.isArray()) {
            throw fail("'" + field + "' must be an array of numbers, one per feature");
        }
        double[] values = new double[array.size()];
        for (int j = 0; j < values.length; j++) {
            if (!array.get(j).isNumber()) {
                throw fail("'" + field + "' must hold numbers only, but has " + array.get(j));
            }
            values[j] = array.get(j).doubleValue();
        }
        return values;
    }

    private double number(JsonNode root, String field) {
        if (!root.get(field).isNumber()) {
            throw fail("'" + field + "' must be a number, but is " + root.get(field));
        }
        return root.get(field).doubleValue();
    }

    private String text(JsonNode root, String field) {
        if (!root.get(field).isTextual()) {
            throw fail("'" + field + "' must be a string, but is " + root.get(field));
        }
        return root.get(field).textValue();
    }

    private boolean bool(JsonNode root, String field) {
        if (!root.get(field).isBoolean()) {
            throw fail("'" + field + "' must be true or false, but is " + root.get(field));
        }
        return root.get(field).booleanValue();
    }

    private String[] strings(JsonNode root, String field) {
        JsonNode array = root.get(field);
        if (!array.isArray() || array.size() == 0) {
            throw fail("'" + field + "' must be a non-empty array of column names");
        }
        String[] values = new String[array.size()];
        for (int j = 0; j < values.length; j++) {
            if (!array.get(j).isTextual()) {
                throw fail("'" + field + "' must hold column names only, but has " + array.get(j));
            }
            values[j] = array.get(j).textValue();
        }
        return values;
    }

    private UsageException fail(String problem) {
        // One line whatever the document holds: line breaks inside a quoted name are shown escaped.
        return new UsageException(("--json " + json + ": " + problem + ".").replace("\r", "\\r").replace("\n", "\\n"));
    }
}
