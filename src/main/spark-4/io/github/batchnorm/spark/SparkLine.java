package io.github.batchnorm.spark;

import java.util.List;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.sql.SparkSession;
import org.json4s.JInt;
import org.json4s.JObject;
import org.json4s.JValue;
import scala.Option;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;
import scala.math.BigInt;

/**
 * What the main code needs that differs between Spark lines, built for Spark 4.x (Scala 2.13, json4s 4). Each line has
 * its own copy of this class in its own source folder ({@code src/main/spark-*}, chosen by the Maven profile); the rest
 * of the code is the same for every line.
 */
public final class SparkLine {
    private SparkLine() {
    }

    /** Spark's params metadata JSON under {@code path/metadata}, with one extra integer field at the top level. */
    static void saveMetadata(Params instance, String path, SparkSession spark, String extraField, int extraValue) {
        JObject extra = new JObject(CollectionConverters.asScala(
                List.of(new Tuple2<String, JValue>(extraField, new JInt(BigInt.apply(extraValue))))).toList());
        DefaultParamsWriter.saveMetadata(instance, path, spark, Option.apply(extra));
    }

    /**
     * The message a query's {@code raise_error} was given, if {@code exception} is what Spark throws for it; else null.
     * Spark 4 throws a {@code SparkRuntimeException} of condition {@code USER_RAISED_EXCEPTION}, whose message is
     * "[USER_RAISED_EXCEPTION] the message SQLSTATE: P0001".
     */
    public static String raisedErrorMessage(Throwable exception) {
        String message = String.valueOf(exception.getMessage());
        if (!message.contains("USER_RAISED_EXCEPTION")) {
            return null;
        }
        String text = message.substring(message.indexOf(']') + 1).trim();
        int state = text.indexOf(" SQLSTATE");
        return state >= 0 ? text.substring(0, state) : text;
    }
}
