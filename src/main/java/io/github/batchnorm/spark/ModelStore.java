package io.github.batchnorm.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.json4s.JInt;
import org.json4s.JObject;
import org.json4s.JValue;
import scala.Option;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;
import scala.math.BigInt;

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
        JObject extra = new JObject(CollectionConverters.asScala(
                List.of(new Tuple2<String, JValue>(FORMAT_VERSION_FIELD, new JInt(BigInt.apply(FORMAT_VERSION))))).toList());
        DefaultParamsWriter.saveMetadata(model, path, spark, Option.apply(extra));
        VarianceMode stored = statistics.storedVarianceMode();
        Row row = RowFactory.create(statistics.rowCount(), statistics.count(), statistics.weightSum(),
                statistics.weightSquareSum(), statistics.mean(), statistics.variance(stored), statistics.isExact(),
                stored.paramValue());
        spark.createDataFrame(List.of(row), DATA_SCHEMA).repartition(1).write().parquet(dataPath(path));
    }

    /**
     * Reads a model's params metadata, checking that it was written for {@code expectedClass} in a known format.
     *
     * @throws IllegalArgumentException if the format version is missing or unknown
     */
    public static DefaultParamsReader.Metadata loadMetadata(String path, SparkSession spark, String expectedClass) {
        DefaultParamsReader.Metadata metadata = DefaultParamsReader.loadMetadata(path, spark, expectedClass);
        int version = formatVersion(metadata.metadataJson());
        if (version < OLDEST_FORMAT_VERSION || version > FORMAT_VERSION) {
            throw new IllegalArgumentException("Model at '" + path + "' has format version "
                    + (version < 0 ? "(none)" : version) + ", but this version of spark-batchnorm reads format versions "
                    + OLDEST_FORMAT_VERSION + " to " + FORMAT_VERSION + " only.");
        }
        return metadata;
    }

    /** Reads the statistics written by {@link #save}, in the format version its metadata names. */
    public static FeatureStatistics loadStatistics(String path, SparkSession spark, DefaultParamsReader.Metadata metadata) {
        boolean versionOne = formatVersion(metadata.metadataJson()) == 1;
        Row row = versionOne
                ? spark.read().parquet(dataPath(path))
                        .select("rowCount", "count", "weightSum", "weightSquareSum", "mean", "variance").head()
                : spark.read().parquet(dataPath(path)).select("rowCount", "count", "weightSum", "weightSquareSum", "mean",
                        "variance", "exact", "varianceMode").head();
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

    private static int formatVersion(String metadataJson) {
        try {
            JsonNode version = new ObjectMapper().readTree(metadataJson).get(FORMAT_VERSION_FIELD);
            return version == null || !version.canConvertToInt() ? -1 : version.intValue();
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable model metadata", e);
        }
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
