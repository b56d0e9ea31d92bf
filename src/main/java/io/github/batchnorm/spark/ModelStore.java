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
 * {@code varianceMode}, the convention {@code variance} is stored in. Both are read; 2 is written.
 */
public final class ModelStore {
    /** The layout written by this version. */
    public static final int FORMAT_VERSION = 2;
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

    private ModelStore() {
    }

    /** Writes the params metadata and the statistics of a model under {@code path}. */
    public static void save(Params model, FeatureStatistics statistics, String path, SparkSession spark) {
        SparkLine.saveMetadata(model, path, spark, FORMAT_VERSION_FIELD, FORMAT_VERSION);
        VarianceMode stored = statistics.storedVarianceMode();
        Row row = RowFactory.create(statistics.rowCount(), statistics.count(), statistics.weightSum(),
                statistics.weightSquareSum(), statistics.mean(), statistics.variance(stored), statistics.isExact(),
                stored.paramValue());
        spark.createDataFrame(List.of(row), DATA_SCHEMA).repartition(1).write().parquet(dataPath(path));
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
            return readStatistics(path, spark, metadata.formatVersion() == 1);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + path + "' has invalid statistics in its data folder: "
                    + ModelDirectory.firstLine(e.getMessage()), e);
        } catch (Exception e) {
            // Spark's read failures include SparkException, which Scala throws unchecked.
            throw new IllegalArgumentException("'" + path + "' has corrupt or unreadable statistics in its data folder ("
                    + e.getClass().getSimpleName() + ": " + ModelDirectory.firstLine(e.getMessage()) + ").", e);
        }
    }

    private static FeatureStatistics readStatistics(String path, SparkSession spark, boolean versionOne) {
        Row row = versionOne
                ? spark.read().parquet(dataPath(path))
                        .select("rowCount", "count", "weightSum", "weightSquareSum", "mean", "variance").head()
                : spark.read().parquet(dataPath(path)).select("rowCount", "count", "weightSum", "weightSquareSum", "mean",
                        "variance", "exact", "varianceMode").head();
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
        if (versionOne || row.getBoolean(6)) {
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
