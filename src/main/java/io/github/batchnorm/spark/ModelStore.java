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
 */
public final class ModelStore {
    /** The layout written by this version. */
    public static final int FORMAT_VERSION = 1;

    private static final String FORMAT_VERSION_FIELD = "formatVersion";
    private static final StructType DATA_SCHEMA = new StructType()
            .add("rowCount", DataTypes.LongType, false)
            .add("count", DataTypes.createArrayType(DataTypes.LongType, false), false)
            .add("weightSum", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("weightSquareSum", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("mean", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("variance", DataTypes.createArrayType(DataTypes.DoubleType, false), false);

    private ModelStore() {
    }

    /** Writes the params metadata and the statistics of a model under {@code path}. */
    public static void save(Params model, FeatureStatistics statistics, String path, SparkSession spark) {
        JObject extra = new JObject(CollectionConverters.asScala(
                List.of(new Tuple2<String, JValue>(FORMAT_VERSION_FIELD, new JInt(BigInt.apply(FORMAT_VERSION))))).toList());
        DefaultParamsWriter.saveMetadata(model, path, spark, Option.apply(extra));
        Row row = RowFactory.create(statistics.rowCount(), statistics.count(), statistics.weightSum(),
                statistics.weightSquareSum(), statistics.mean(), statistics.variance(VarianceMode.POPULATION));
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
        if (version != FORMAT_VERSION) {
            throw new IllegalArgumentException("Model at '" + path + "' has format version "
                    + (version < 0 ? "(none)" : version) + ", but this version of spark-batchnorm reads format version "
                    + FORMAT_VERSION + " only.");
        }
        return metadata;
    }

    /** Reads the statistics written by {@link #save}. */
    public static FeatureStatistics loadStatistics(String path, SparkSession spark) {
        Row row = spark.read().parquet(dataPath(path))
                .select("rowCount", "count", "weightSum", "weightSquareSum", "mean", "variance").head();
        return new FeatureStatistics(row.getLong(0), toLongs(row.getList(1)), toDoubles(row.getList(2)),
                toDoubles(row.getList(3)), toDoubles(row.getList(4)), toDoubles(row.getList(5)));
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
