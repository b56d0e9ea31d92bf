package io.github.batchnorm.testing;

import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.runtime.MemoryStream;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * What the tests need that differs between Spark lines, built for Spark 4.1 and 4.2 (Scala 2.13; {@code MemoryStream} in {@code execution.streaming.runtime}). Each line has its own copy of this class in
 * its own test source folder ({@code src/test/spark-*}, chosen by the Maven profile); the tests themselves are the same
 * for every line.
 */
public final class SparkLineTesting {
    private SparkLineTesting() {
    }

    /** A Scala sequence (a Spark listener's stage list, an array cell of a collected Row) as a Java list. */
    public static <T> List<T> asJava(scala.collection.Seq<T> seq) {
        return CollectionConverters.asJava(seq);
    }

    /** A streaming source of rows that a test feeds batch by batch: Spark's test-only {@code MemoryStream}. */
    public static RowStream rowStream(SparkSession spark, StructType schema) {
        return new RowStream(MemoryStream.apply(Encoders.row(schema), spark));
    }

    /** Spark's {@code MemoryStream} of rows, whose class and factory differ between Spark lines. */
    public static final class RowStream {
        private final MemoryStream<Row> stream;

        private RowStream(MemoryStream<Row> stream) {
            this.stream = stream;
        }

        /** The streaming DataFrame that reads what {@link #addData} adds. */
        public Dataset<Row> toDF() {
            return stream.toDF();
        }

        /** Adds one batch of rows, which the next trigger reads. */
        public void addData(List<Row> rows) {
            stream.addData(CollectionConverters.asScala(rows).toList());
        }
    }
}
