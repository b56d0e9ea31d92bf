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
            "rowCount", "count", "mean", "variance", "gamma", "beta");

    @Spec
    CommandSpec spec;

    @Option(names = "--json", required = true, paramLabel = "FILE", description = "The statistics: one JSON object in the"
            + " schema of describe --json (mean, variance, epsilon and inputCols or inputCol required).")
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
        if (root.has("features") || root.has("otherFeatures")) {
            throw fail("'features' and 'otherFeatures' describe a model that lists only its stored features (describe"
                    + " --json of a model of more than " + ModelReport.LIST_EVERY_FEATURE_UP_TO + " features); import"
                    + " takes one value per feature in 'mean' and 'variance'");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext();) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw fail("unknown field '" + name + "'; the fields are " + String.join(", ", FIELDS));
            }
        }
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
        if (!root.has("epsilon") || !root.get("epsilon").isNumber()) {
            throw fail("'epsilon' must be given as a number: frameworks differ (Keras 1e-3, PyTorch 1e-5), so it has no"
                    + " default here");
        }
        String varianceMode = root.has("varianceMode") ? text(root, "varianceMode") : "population";
        BatchNormalizationModel validated;
        try {
            validated = BatchNormalizationModel.fromStatistics(mean, variance, gamma, beta,
                    root.get("epsilon").doubleValue(), varianceMode);
        } catch (IllegalArgumentException e) {
            throw fail(e.getMessage().replaceFirst("^fromStatistics: ", "").replaceFirst("\\.$", ""));
        }
        BatchNormalizationModel imported = withCounts(root, validated, mean, variance,
                VarianceMode.fromParam(varianceMode));
        columns(root, imported, n);
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

    /** The model with the JSON's counts, if any: how much data the statistics came from, for information. */
    private BatchNormalizationModel withCounts(JsonNode root, BatchNormalizationModel validated, double[] mean,
            double[] variance, VarianceMode mode) {
        if (!root.has("count") && !root.has("rowCount")) {
            return validated;
        }
        long[] count = new long[mean.length];
        if (root.has("count")) {
            JsonNode counts = root.get("count");
            if (!counts.isArray() || counts.size() != mean.length) {
                throw fail("'count' must be an array of " + mean.length + " whole numbers, one per feature");
            }
            for (int j = 0; j < count.length; j++) {
                if (!counts.get(j).canConvertToLong() || !counts.get(j).isIntegralNumber() || counts.get(j).longValue() < 0) {
                    throw fail("'count' must hold whole numbers >= 0, but has " + counts.get(j));
                }
                count[j] = counts.get(j).longValue();
            }
        }
        long rowCount = Arrays.stream(count).max().orElse(0);
        if (root.has("rowCount")) {
            JsonNode rows = root.get("rowCount");
            if (!rows.isIntegralNumber() || !rows.canConvertToLong() || rows.longValue() < 0) {
                throw fail("'rowCount' must be a whole number >= 0, but is " + rows);
            }
            rowCount = rows.longValue();
        }
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
