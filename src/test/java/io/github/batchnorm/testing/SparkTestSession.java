package io.github.batchnorm.testing;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.ml.linalg.SQLDataTypes;

/**
 * The local Spark session the test classes share (starting one takes seconds), and helpers to turn generated rows into
 * DataFrames.
 */
public final class SparkTestSession {
    private static SparkSession session;

    private SparkTestSession() {
    }

    /**
     * The shared session: two cores, each task allowed two attempts (so tests can inject a failure and watch the retry),
     * no UI, few shuffle partitions. Stopped by Spark's shutdown hook.
     */
    public static synchronized SparkSession get() {
        if (session == null) {
            session = SparkSession.builder()
                    .master("local[2,2]")
                    .appName("spark-batchnorm-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.driver.host", "127.0.0.1")
                    .getOrCreate();
        }
        return session;
    }

    /**
     * A DataFrame of {@code id} (the row's index in {@code rows}) and one Vector column {@code features}, dense or sparse,
     * spread over the given number of partitions.
     */
    public static Dataset<Row> vectors(double[][] rows, boolean sparse, int partitions) {
        return vectors(get(), rows, sparse, partitions);
    }

    /** As {@link #vectors(double[][], boolean, int)}, in a session of the caller's own (a cluster, say). */
    public static Dataset<Row> vectors(SparkSession spark, double[][] rows, boolean sparse, int partitions) {
        List<Row> data = new ArrayList<>(rows.length);
        for (int i = 0; i < rows.length; i++) {
            Vector vector = Vectors.dense(rows[i].clone());
            data.add(RowFactory.create((long) i, sparse ? vector.toSparse() : vector));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("features", SQLDataTypes.VectorType());
        return spark.createDataFrame(data, schema).repartition(partitions);
    }
}
