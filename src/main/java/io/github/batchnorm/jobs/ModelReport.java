package io.github.batchnorm.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.stats.FeatureStatistics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** What {@code describe} and {@code fit} print about a model: an aligned table, or one JSON object. */
final class ModelReport {
    /**
     * A model of more features than this whose statistics store only some of them is reported by its stored features
     * and one rule for every other feature: its per-feature lists would be as long as its dimension (2^28 features are
     * gigabytes of JSON). Fits of at most this many features give statistics that store every feature.
     */
    static final int LIST_EVERY_FEATURE_UP_TO = 1 << 20;

    private ModelReport() {
    }

    /**
     * Whether the report lists only the stored features (and states the rule for the rest): the statistics store only
     * some of more than {@link #LIST_EVERY_FEATURE_UP_TO} features, of one Vector or array column, and gamma and beta
     * are the defaults, the same for every feature.
     */
    static boolean listsStoredFeaturesOnly(BatchNormalizationModel model) {
        return !model.statistics().storesEveryFeature() && model.numFeatures() > LIST_EVERY_FEATURE_UP_TO
                && !model.isSet(model.inputCols()) && model.getGamma().length == 0 && model.getBeta().length == 0;
    }

    /** Per-feature names: the scalar input columns, or {@code col[j]} for a Vector or array column. */
    static List<String> featureNames(BatchNormalizationModel model) {
        List<String> names = new ArrayList<>();
        if (model.isSet(model.inputCols())) {
            names.addAll(List.of(model.getInputCols()));
        } else {
            for (int j = 0; j < model.numFeatures(); j++) {
                names.add(model.getInputCol() + "[" + j + "]");
            }
        }
        return names;
    }

    /**
     * How many features are implicit: zero in every row that counted (no missing value), so their statistics are the rule
     * {@code count = rowCount, mean 0, variance 0} rather than anything learnt per feature. The rest are stored: they
     * saw a value other than zero, or a missing value.
     */
    static long implicitFeatures(BatchNormalizationModel model) {
        FeatureStatistics statistics = model.statistics();
        long rows = statistics.rowCount();
        long[] count = statistics.storedCount();
        double[] mean = statistics.storedMean();
        org.apache.spark.ml.linalg.Vector varianceVector = model.variance();
        // Statistics that store only some features give a sparse variance whose values are the stored features'.
        double[] variance = statistics.storesEveryFeature() ? varianceVector.toArray()
                : ((org.apache.spark.ml.linalg.SparseVector) varianceVector).values();
        long implicit = (long) statistics.numFeatures() - statistics.storedFeatureCount();
        for (int s = 0; s < mean.length; s++) {
            if (count[s] == rows && mean[s] == 0.0 && variance[s] == 0.0) {
                implicit++;
            }
        }
        return implicit;
    }

    /**
     * The model as JSON, the schema that {@code import} reads back: {@code inputCols} and {@code outputCols} (or
     * {@code inputCol} and {@code outputCol}), {@code epsilon}, {@code varianceMode}, {@code center}, {@code scale},
     * {@code momentum} (only when set), {@code exact}, {@code numFeatures}, {@code storedFeatures} and
     * {@code implicitFeatures} (see {@link #implicitFeatures}), {@code rowCount}, and per-feature arrays
     * {@code count}, {@code mean}, {@code variance} (in {@code varianceMode}), {@code gamma}, {@code beta}. Doubles are
     * written in their shortest form that parses back to the identical double.
     *
     * <p>A model reported by its stored features only ({@link #listsStoredFeaturesOnly}) has the per-feature arrays for
     * the features listed in {@code features} (increasing), and {@code otherFeatures}: the {@code count}, {@code mean},
     * {@code variance}, {@code gamma} and {@code beta} of every feature not listed.
     */
    static String json(BatchNormalizationModel model) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        if (model.isSet(model.inputCols())) {
            putStrings(root.putArray("inputCols"), model.getInputCols());
            if (model.isSet(model.outputCols())) {
                putStrings(root.putArray("outputCols"), model.getOutputCols());
            }
        } else {
            root.put("inputCol", model.getInputCol());
            root.put("outputCol", model.getOutputCol());
        }
        root.put("epsilon", model.getEpsilon());
        root.put("varianceMode", model.getVarianceMode());
        root.put("center", model.getCenter());
        root.put("scale", model.getScale());
        if (model.isSet(model.momentum())) {
            root.put("momentum", model.getMomentum());
        }
        root.put("exact", model.statistics().isExact());
        root.put("numFeatures", model.numFeatures());
        long implicit = implicitFeatures(model);
        root.put("storedFeatures", model.numFeatures() - implicit);
        root.put("implicitFeatures", implicit);
        root.put("rowCount", model.count());
        FeatureStatistics statistics = model.statistics();
        if (listsStoredFeaturesOnly(model)) {
            putStoredFeatures(root, model);
            return write(mapper, root);
        }
        ArrayNode count = root.putArray("count");
        for (long c : statistics.count()) {
            count.add(c);
        }
        putDoubles(root.putArray("mean"), statistics.mean());
        putDoubles(root.putArray("variance"), model.variance().toArray());
        putDoubles(root.putArray("gamma"), model.gammaValues().toArray());
        putDoubles(root.putArray("beta"), model.betaValues().toArray());
        return write(mapper, root);
    }

    private static String write(ObjectMapper mapper, ObjectNode root) {
        try {
            return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The stored features' arrays and the rule for the others, without an array per feature of the dimension. */
    private static void putStoredFeatures(ObjectNode root, BatchNormalizationModel model) {
        FeatureStatistics statistics = model.statistics();
        int[] stored = statistics.storedFeatures();
        ArrayNode features = root.putArray("features");
        for (int j : stored) {
            features.add(j);
        }
        ArrayNode count = root.putArray("count");
        for (long c : statistics.storedCount()) {
            count.add(c);
        }
        putDoubles(root.putArray("mean"), statistics.storedMean());
        putDoubles(root.putArray("variance"), storedVariance(model));
        double[] gamma = new double[stored.length];
        Arrays.fill(gamma, 1.0);
        putDoubles(root.putArray("gamma"), gamma);
        putDoubles(root.putArray("beta"), new double[stored.length]);
        ObjectNode others = root.putObject("otherFeatures");
        others.put("count", statistics.rowCount());
        others.put("mean", 0.0);
        others.put("variance", 0.0);
        others.put("gamma", 1.0);
        others.put("beta", 0.0);
    }

    /** The stored features' variances in the model's {@code varianceMode}. */
    private static double[] storedVariance(BatchNormalizationModel model) {
        return ((org.apache.spark.ml.linalg.SparseVector) model.variance()).values();
    }

    private static void putStrings(ArrayNode array, String[] values) {
        for (String value : values) {
            array.add(value);
        }
    }

    private static void putDoubles(ArrayNode array, double[] values) {
        for (double value : values) {
            array.add(value);
        }
    }

    /** An aligned table: feature, count, mean, variance, gamma, beta. */
    static String table(BatchNormalizationModel model) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"feature", "count", "mean", "variance", "gamma", "beta"});
        if (listsStoredFeaturesOnly(model)) {
            return storedTable(model, rows);
        }
        List<String> names = featureNames(model);
        long[] counts = model.statistics().count();
        double[] mean = model.statistics().mean();
        double[] variance = model.variance().toArray();
        double[] gamma = model.gammaValues().toArray();
        double[] beta = model.betaValues().toArray();
        for (int j = 0; j < names.size(); j++) {
            rows.add(new String[] {names.get(j), Long.toString(counts[j]), format(mean[j]), format(variance[j]),
                format(gamma[j]), format(beta[j])});
        }
        return align(rows) + summary(model);
    }

    /**
     * The table of the stored features only, then the line of every other feature, with its count, mean, variance, gamma
     * and beta.
     */
    private static String storedTable(BatchNormalizationModel model, List<String[]> rows) {
        FeatureStatistics statistics = model.statistics();
        int[] stored = statistics.storedFeatures();
        long[] counts = statistics.storedCount();
        double[] mean = statistics.storedMean();
        double[] variance = storedVariance(model);
        for (int s = 0; s < stored.length; s++) {
            rows.add(new String[] {model.getInputCol() + "[" + stored[s] + "]", Long.toString(counts[s]),
                format(mean[s]), format(variance[s]), format(1.0), format(0.0)});
        }
        long others = (long) model.numFeatures() - stored.length;
        rows.add(new String[] {"the other " + others, Long.toString(statistics.rowCount()), format(0.0), format(0.0),
            format(1.0), format(0.0)});
        return align(rows) + summary(model);
    }

    /** The lines under the table: stored and implicit features, epsilon, variance mode, rows and groups. */
    private static String summary(BatchNormalizationModel model) {
        long features = model.numFeatures();
        long implicit = implicitFeatures(model);
        return features + " features: " + (features - implicit) + " stored (a value other than"
                + " zero, or a missing value, in some row), " + implicit + " implicit (zero in every row)\n"
                + "epsilon " + model.getEpsilon() + ", " + model.getVarianceMode() + " variance, "
                + model.count() + " rows" + (model.statistics().isExact() ? "" : ", running statistics")
                + (model.isSet(model.momentum()) ? ", momentum " + model.getMomentum() : "") + "\n"
                + GroupReport.text(model);
    }

    /** Two statistics per output feature (after normalising): mean and variance. */
    static String afterTable(List<String> names, double[] mean, double[] variance) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"output", "mean", "variance"});
        for (int j = 0; j < names.size(); j++) {
            rows.add(new String[] {names.get(j), format(mean[j]), format(variance[j])});
        }
        return align(rows);
    }

    private static String format(double value) {
        return String.format(java.util.Locale.ROOT, "%.6g", value);
    }

    private static String align(List<String[]> rows) {
        int[] widths = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder text = new StringBuilder();
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                String cell = i == 0 ? String.format("%-" + widths[i] + "s", row[i])
                        : String.format("%" + widths[i] + "s", row[i]);
                text.append(i == 0 ? "" : "  ").append(cell);
            }
            text.append('\n');
        }
        return text.toString();
    }
}
