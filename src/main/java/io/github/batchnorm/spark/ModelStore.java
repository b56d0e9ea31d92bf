package io.github.batchnorm.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The on-disk layout of a fitted model: Spark's standard params metadata JSON under {@code path/metadata} (with an extra
 * {@code formatVersion} field), and the statistics as a one-row Parquet file under {@code path/data}. No Java
 * serialization, so models outlive class changes, and a format this version does not know is refused with a clear message.
 *
 * <p>Format versions: 1 has {@code rowCount}, {@code count}, {@code weightSum}, {@code weightSquareSum}, {@code mean} and
 * the population {@code variance}, always exact statistics. 2 adds {@code exact} (false for running statistics) and
 * {@code varianceMode}, the convention {@code variance} is stored in. 3 is for statistics that store only some features
 * (see {@link FeatureStatistics}): it adds {@code numFeatures}, {@code storedFeatures} (the features the per-feature
 * arrays describe, increasing) and {@code implicitWeightSum} and {@code implicitWeightSquareSum} (the weights of every
 * other feature, whose mean and variance are 0 and count {@code rowCount}), so a 2^28-feature model takes the space of
 * its touched features. All three are read. Statistics that store every feature are written as 2, which readers
 * before version 3 existed still read; only statistics that store some features are written as 3.
 */
public final class ModelStore {
    /** The newest layout this version reads and writes (for statistics that store only some features). */
    public static final int FORMAT_VERSION = 3;
    /** The layout written for statistics that store every feature, readable by versions before format 3. */
    public static final int EVERY_FEATURE_FORMAT_VERSION = 2;
    /** The oldest layout this version still reads. */
    public static final int OLDEST_FORMAT_VERSION = 1;

    private static final String FORMAT_VERSION_FIELD = "formatVersion";
    private static final StructType DATA_SCHEMA = new StructType()
            .add("rowCount", DataTypes.LongType, false)
            .add("count", DataTypes.createArrayType(DataTypes.LongType, false), false)
            .add("weightSum", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("weightSquareSum", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("mean", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("variance", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("exact", DataTypes.BooleanType, false)
            .add("varianceMode", DataTypes.StringType, false);
    private static final StructType STORED_DATA_SCHEMA = DATA_SCHEMA
            .add("numFeatures", DataTypes.IntegerType, false)
            .add("storedFeatures", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
            .add("implicitWeightSum", DataTypes.DoubleType, false)
            .add("implicitWeightSquareSum", DataTypes.DoubleType, false);

    private ModelStore() {
    }

    /** Writes the params metadata and the statistics of a model under {@code path}. */
    public static void save(Params model, FeatureStatistics statistics, String path, SparkSession spark) {
        boolean everyFeature = statistics.storesEveryFeature();
        SparkLine.saveMetadata(model, path, spark, FORMAT_VERSION_FIELD,
                everyFeature ? EVERY_FEATURE_FORMAT_VERSION : FORMAT_VERSION);
        VarianceMode stored = statistics.storedVarianceMode();
        Object[] fields = {statistics.rowCount(), statistics.storedCount(), statistics.storedWeightSum(),
            statistics.storedWeightSquareSum(), statistics.storedMean(), statistics.storedVariance(stored),
            statistics.isExact(), stored.paramValue()};
        Row row = everyFeature ? RowFactory.create(fields) : RowFactory.create(java.util.stream.Stream.concat(
                java.util.Arrays.stream(fields), java.util.stream.Stream.of(statistics.numFeatures(),
                        statistics.storedFeatures(), statistics.implicitWeightSum(),
                        statistics.implicitWeightSquareSum())).toArray());
        spark.createDataFrame(List.of(row), everyFeature ? DATA_SCHEMA : STORED_DATA_SCHEMA).repartition(1).write()
                .parquet(dataPath(path));
    }

    /** A model's metadata as saved: its uid, layout version and params. */
    public record SavedMetadata(String uid, int formatVersion, JsonNode paramMap, JsonNode defaultParamMap) {
    }

    /**
     * Reads a model's params metadata (the JSON Spark's params writer saves), checking each field the reader needs and
     * the format version.
     *
     * @param path the model's folder, for messages
     * @throws IllegalArgumentException one line naming the path and what is wrong, for anything but a readable model
     *     metadata of {@code expectedClass} in a format this version reads
     */
    public static SavedMetadata parseMetadata(String json, String path, String expectedClass) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw corrupt(path, "not valid JSON (" + ModelDirectory.firstLine(e.getMessage()) + ")");
        }
        if (root == null || !root.isObject()) {
            throw corrupt(path, "not a JSON object");
        }
        if (!root.path("class").isTextual()) {
            throw corrupt(path, "no \"class\" field");
        }
        String className = root.get("class").textValue();
        if (!className.equals(expectedClass)) {
            throw new IllegalArgumentException(oneLine("'" + path + "' holds a saved "
                    + ModelDirectory.simpleName(className) + " (" + className + "), not a "
                    + ModelDirectory.simpleName(expectedClass) + "."));
        }
        JsonNode version = root.get(FORMAT_VERSION_FIELD);
        if (version == null || !version.isIntegralNumber() || !version.canConvertToInt()) {
            throw new IllegalArgumentException("Model at '" + path + "' has format version " + (version == null ? "(none)"
                    : version) + ", but this version of spark-batchnorm reads format versions " + OLDEST_FORMAT_VERSION
                    + " to " + FORMAT_VERSION + " only.");
        }
        int formatVersion = version.intValue();
        if (formatVersion > FORMAT_VERSION) {
            throw new IllegalArgumentException("Model at '" + path + "' has format version " + formatVersion + ", written"
                    + " by a newer spark-batchnorm; this version reads format versions " + OLDEST_FORMAT_VERSION + " to "
                    + FORMAT_VERSION + " only: upgrade spark-batchnorm to read it.");
        }
        if (formatVersion < OLDEST_FORMAT_VERSION) {
            throw new IllegalArgumentException("Model at '" + path + "' has format version " + formatVersion + ", but this"
                    + " version of spark-batchnorm reads format versions " + OLDEST_FORMAT_VERSION + " to "
                    + FORMAT_VERSION + " only.");
        }
        if (!root.path("uid").isTextual() || root.get("uid").textValue().isEmpty()) {
            throw corrupt(path, "no \"uid\" string");
        }
        if (!root.path("paramMap").isObject()) {
            throw corrupt(path, "no \"paramMap\" object");
        }
        JsonNode defaults = root.get("defaultParamMap");
        if (defaults != null && !defaults.isObject()) {
            throw corrupt(path, "\"defaultParamMap\" is not an object");
        }
        return new SavedMetadata(root.get("uid").textValue(), formatVersion, root.get("paramMap"),
                defaults == null ? new ObjectMapper().createObjectNode() : defaults);
    }

    /**
     * Sets the saved params (and the saved defaults) on {@code model}, as Spark's reader does, but one param at a time so
     * a message names the one that is unknown or has a value its param refuses.
     *
     * @throws IllegalArgumentException naming the path, the param and its value
     */
    @SuppressWarnings("unchecked")
    public static void applyParams(SavedMetadata metadata, Params model, String path) {
        for (boolean defaults : new boolean[] {false, true}) {
            JsonNode params = defaults ? metadata.defaultParamMap() : metadata.paramMap();
            for (var fields = params.fields(); fields.hasNext();) {
                var field = fields.next();
                String name = field.getKey();
                if (!model.hasParam(name)) {
                    throw corrupt(path, "unknown param '" + name + "'");
                }
                Param<Object> param = (Param<Object>) model.getParam(name);
                Object value;
                try {
                    value = param.jsonDecode(field.getValue().toString());
                } catch (Exception | scala.NotImplementedError e) {
                    // json4s's MappingException is checked in Java's eyes but thrown anyway.
                    throw corrupt(path, "param '" + name + "' has the value " + abbreviate(field.getValue().toString())
                            + ", which is not of its type");
                }
                if (param.getClass() == Param.class && !(value instanceof String)) {
                    // Every plain Param of these stages holds a string; Spark would decode an object into a Vector.
                    throw corrupt(path, "param '" + name + "' has the value " + abbreviate(field.getValue().toString())
                            + ", which is not of its type");
                }
                try {
                    if (defaults) {
                        model.setDefault(param, value);
                    } else {
                        model.set(param, value);
                    }
                } catch (RuntimeException e) {
                    throw corrupt(path, "param '" + name + "' has the value " + abbreviate(field.getValue().toString())
                            + ", which it does not allow");
                }
            }
        }
    }

    private static String abbreviate(String text) {
        return text.length() <= 60 ? text : text.substring(0, 57) + "...";
    }

    private static IllegalArgumentException corrupt(String path, String problem) {
        return new IllegalArgumentException(oneLine("'" + path + "' has corrupt model metadata: " + problem + "."));
    }

    /** A message stays one line whatever names it quotes: line breaks inside them are shown escaped. */
    static String oneLine(String message) {
        return message.replace("\r", "\\r").replace("\n", "\\n");
    }

    /**
     * Reads the statistics written by {@link #save}, in the format version its metadata names.
     *
     * @throws IllegalArgumentException naming the path, for data files that are missing, unreadable or inconsistent
     */
    public static FeatureStatistics loadStatistics(String path, SparkSession spark, SavedMetadata metadata) {
        try {
            return readStatistics(path, spark, metadata.formatVersion());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + path + "' has invalid statistics in its data folder: "
                    + ModelDirectory.firstLine(e.getMessage()), e);
        } catch (Exception e) {
            // Spark's read failures include SparkException, which Scala throws unchecked.
            throw new IllegalArgumentException("'" + path + "' has corrupt or unreadable statistics in its data folder ("
                    + e.getClass().getSimpleName() + ": " + ModelDirectory.firstLine(e.getMessage()) + ").", e);
        }
    }

    private static FeatureStatistics readStatistics(String path, SparkSession spark, int formatVersion) {
        boolean versionOne = formatVersion == 1;
        String[] columns = versionOne
                ? new String[] {"rowCount", "count", "weightSum", "weightSquareSum", "mean", "variance"}
                : formatVersion == 2
                ? new String[] {"rowCount", "count", "weightSum", "weightSquareSum", "mean", "variance", "exact",
                    "varianceMode"}
                : new String[] {"rowCount", "count", "weightSum", "weightSquareSum", "mean", "variance", "exact",
                    "varianceMode", "numFeatures", "storedFeatures", "implicitWeightSum", "implicitWeightSquareSum"};
        Dataset<Row> data = spark.read().parquet(dataPath(path));
        Row row = data.select(columns[0], java.util.Arrays.copyOfRange(columns, 1, columns.length)).head();
        for (int i = 0; i < row.length(); i++) {
            if (row.isNullAt(i)) {
                throw new IllegalArgumentException("field " + row.schema().fields()[i].name() + " is null");
            }
        }
        long rowCount = row.getLong(0);
        long[] count = toLongs(row.getList(1));
        double[] weightSum = toDoubles(row.getList(2));
        double[] weightSquareSum = toDoubles(row.getList(3));
        double[] mean = toDoubles(row.getList(4));
        double[] variance = toDoubles(row.getList(5));
        boolean exact = versionOne || row.getBoolean(6);
        if (formatVersion >= 3) {
            int numFeatures = row.getInt(8);
            int[] storedFeatures = row.<Integer>getList(9).stream().mapToInt(Integer::intValue).toArray();
            double implicitWeightSum = row.getDouble(10);
            double implicitWeightSquareSum = row.getDouble(11);
            return exact
                    ? FeatureStatistics.stored(rowCount, numFeatures, storedFeatures, count, weightSum, weightSquareSum,
                            mean, variance, implicitWeightSum, implicitWeightSquareSum)
                    : FeatureStatistics.storedRunning(rowCount, numFeatures, storedFeatures, count, weightSum,
                            weightSquareSum, mean, variance, implicitWeightSum, implicitWeightSquareSum,
                            VarianceMode.fromParam(row.getString(7)));
        }
        if (exact) {
            return new FeatureStatistics(rowCount, count, weightSum, weightSquareSum, mean, variance);
        }
        return FeatureStatistics.running(rowCount, count, weightSum, weightSquareSum, mean, variance,
                VarianceMode.fromParam(row.getString(7)));
    }

    private static double[] toDoubles(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static long[] toLongs(List<Long> values) {
        return values.stream().mapToLong(Long::longValue).toArray();
    }

    private static String dataPath(String path) {
        return new Path(path, "data").toString();
    }
}
