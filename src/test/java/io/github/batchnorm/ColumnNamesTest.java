package io.github.batchnorm;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.batchnorm.testing.SparkLineTesting;
import io.github.batchnorm.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every column param is a literal column name: dots, spaces, backticks, non-ASCII letters and very long names reach Spark
 * as one name, never as a struct path or a quoted part. Four weighted rows give closed-form statistics: x = 1, 2, 3, 4
 * with weights 1, 1, 2, 0 have mean 9/4 and population variance 11/16; a second feature is 10 x.
 */
@DisplayName("Column names are names, whatever they contain")
class ColumnNamesTest {
    private static final double[] X = {1, 2, 3, 4};
    private static final double[] WEIGHT = {1, 1, 2, 0};
    private static final double MEAN = 9.0 / 4;
    private static final double VARIANCE = 11.0 / 16;

    private static SparkSession spark;

    @BeforeAll
    static void startSpark() {
        spark = SparkTestSession.get();
    }

    /** Names as tables from flattened JSON, spreadsheets and warehouses have them. */
    static Stream<String> awkwardNames() {
        return Stream.of("age.years", "monthly spend", "we`ird`", "größe_日本語", "a.`b`.c d", "x".repeat(300) + ".y",
                "`", "`.`");
    }

    private static double expected(int feature, double x) {
        double scale = feature == 0 ? 1 : 10;
        return (x - MEAN * scale) / Math.sqrt(VARIANCE * scale * scale);
    }

    @ParameterizedTest(name = "{index}: scalar columns named \"{0}\"")
    @MethodSource("awkwardNames")
    void scalarColumnsAndTheWeightColumnAreFoundTransformedAndRestored(String name) {
        String first = name;
        String second = name + " (2)";
        String weight = "weight." + name;
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < X.length; r++) {
            rows.add(RowFactory.create((long) r, X[r], 10 * X[r], WEIGHT[r]));
        }
        Dataset<Row> data = spark.createDataFrame(rows, new StructType().add("id", DataTypes.LongType)
                .add(first, DataTypes.DoubleType).add(second, DataTypes.DoubleType).add(weight, DataTypes.DoubleType));
        BatchNormalizationModel model = new BatchNormalization().setInputCols(first, second)
                .setOutputCols(first + ".out", second + ".out").setWeightCol(weight).setEpsilon(0).fit(data);
        assertClose(MEAN, model.mean().apply(0), 1e-15, 1, "mean of '" + first + "'");
        assertClose(VARIANCE * 100, model.variance().apply(1), 1e-15, 1, "variance of '" + second + "'");

        Dataset<Row> normalized = model.transform(data);
        for (Row row : normalized.collectAsList()) {
            int r = (int) row.getLong(0);
            assertClose(expected(0, X[r]), row.getDouble(row.fieldIndex(first + ".out")), 1e-14, 1, "row " + r);
            assertClose(expected(1, 10 * X[r]), row.getDouble(row.fieldIndex(second + ".out")), 1e-14, 1, "row " + r);
        }
        Dataset<Row> restored = model.inverseTransform(normalized, "restored." + first, "restored " + second);
        for (Row row : restored.collectAsList()) {
            int r = (int) row.getLong(0);
            assertClose(X[r], row.getDouble(row.fieldIndex("restored." + first)), 1e-14, 1, "restored row " + r);
            assertClose(10 * X[r], row.getDouble(row.fieldIndex("restored " + second)), 1e-14, 1, "restored row " + r);
        }
        Dataset<Row> intoInputs = model.inverseTransform(normalized.drop(first, second));
        assertEquals(X[1], intoInputs.where("id = 1").head().getDouble(intoInputs.schema().fieldIndex(first)), 1e-14);
    }

    @ParameterizedTest(name = "{index}: Vector and array columns named \"{0}\"")
    @MethodSource("awkwardNames")
    void vectorAndArrayColumnsAreFoundTransformedAndRestored(String name) {
        String weight = "weight." + name;
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < X.length; r++) {
            double[] values = {X[r], 10 * X[r]};
            rows.add(RowFactory.create((long) r, Vectors.dense(values), values, WEIGHT[r]));
        }
        String vectors = name;
        String arrays = name + "[]";
        Dataset<Row> data = spark.createDataFrame(rows, new StructType().add("id", DataTypes.LongType)
                .add(vectors, SQLDataTypes.VectorType()).add(arrays, DataTypes.createArrayType(DataTypes.DoubleType))
                .add(weight, DataTypes.DoubleType));
        for (String input : List.of(vectors, arrays)) {
            BatchNormalizationModel model = new BatchNormalization().setInputCol(input).setOutputCol(input + ".out")
                    .setWeightCol(weight).setEpsilon(0).fit(data);
            assertClose(MEAN * 10, model.mean().apply(1), 1e-15, 1, "mean of '" + input + "'[1]");
            Dataset<Row> normalized = model.transform(data);
            Dataset<Row> restored = model.inverseTransform(normalized, input + " restored");
            for (Row row : restored.collectAsList()) {
                int r = (int) row.getLong(0);
                double[] out = values(row.get(row.fieldIndex(input + ".out")));
                double[] back = values(row.get(row.fieldIndex(input + " restored")));
                for (int j = 0; j < 2; j++) {
                    double x = j == 0 ? X[r] : 10 * X[r];
                    assertClose(expected(j, x), out[j], 1e-14, 1, input + " row " + r + " feature " + j);
                    assertClose(x, back[j], 1e-14, 1, input + " restored row " + r + " feature " + j);
                }
            }
        }
    }

    private static double[] values(Object cell) {
        if (cell instanceof Vector) {
            return ((Vector) cell).toArray();
        }
        List<Double> list = ((scala.collection.Seq<Double>) cell) == null ? List.of()
                : SparkLineTesting.asJava((scala.collection.Seq<Double>) cell);
        return list.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
