package io.github.batchnorm.spark;

import java.util.List;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.sql.SparkSession;
import org.json4s.JsonAST.JInt;
import org.json4s.JsonAST.JObject;
import org.json4s.JsonAST.JValue;
import scala.Option;
import scala.Tuple2;
import scala.collection.JavaConverters;
import scala.math.BigInt;

/**
 * What the main code needs that differs between Spark lines, built for Spark 3.5: Scala 2.12 (no
 * {@code scala.jdk.javaapi}), json4s 3 (whose AST classes are nested in {@code JsonAST}), and a params writer that takes
 * a {@code SparkContext}. Each line has its own copy of this class in its own source folder ({@code src/main/spark-*},
 * chosen by the Maven profile); the rest of the code is the same for every line.
 */
public final class SparkLine {
    private SparkLine() {
    }

    /** Spark's params metadata JSON under {@code path/metadata}, with one extra integer field at the top level. */
    static void saveMetadata(Params instance, String path, SparkSession spark, String extraField, int extraValue) {
        JObject extra = new JObject(JavaConverters.asScalaBufferConverter(
                List.of(new Tuple2<String, JValue>(extraField, new JInt(BigInt.apply(extraValue))))).asScala().toList());
        DefaultParamsWriter.saveMetadata(instance, path, spark.sparkContext(), Option.apply(extra), Option.empty());
    }

    /**
     * The message a query's {@code raise_error} was given, if {@code exception} is what Spark throws for it; else null.
     * Spark 3.5 throws a plain {@code RuntimeException} with the message as it is, from the expression's generated or
     * interpreted code; a plain {@code RuntimeException} from anywhere else is not taken for one.
     */
    public static String raisedErrorMessage(Throwable exception) {
        StackTraceElement[] trace = exception.getStackTrace();
        boolean raisedByAnExpression = exception.getClass() == RuntimeException.class && trace.length > 0
                && trace[0].getClassName().startsWith("org.apache.spark.sql.catalyst.expressions.");
        return raisedByAnExpression ? exception.getMessage() : null;
    }
}
