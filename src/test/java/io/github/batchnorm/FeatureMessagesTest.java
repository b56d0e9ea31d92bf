package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** A message about one feature names it as the user does: the scalar column, or the column and index. */
@DisplayName("Messages about a feature name its column")
class FeatureMessagesTest {
    private static SparkSession spark;
    private static Dataset<Row> data;

    /**
     * Three rows: scalar columns a (valid), b (never valid), big (whose variance overflows), and the same three features
     * as a Vector and as an array.
     */
    @BeforeAll
    static void makeData() {
        spark = SparkTestSession.get();
        double[][] rows = {{1, Double.NaN, 1e300}, {2, Double.NaN, -1e300}, {3, Double.NaN, 1e300}};
        List<Row> table = new ArrayList<>();
        for (double[] row : rows) {
            table.add(RowFactory.create(row[0], Double.isNaN(row[1]) ? null : row[1], row[2], Vectors.dense(row), row));
        }
        data = spark.createDataFrame(table, new StructType().add("a", DataTypes.DoubleType)
                .add("b", DataTypes.DoubleType).add("big", DataTypes.DoubleType).add("features", SQLDataTypes.VectorType())
                .add("arr", DataTypes.createArrayType(DataTypes.DoubleType)));
    }

    private static String failure(BatchNormalization estimator) {
        return assertThrows(IllegalArgumentException.class, () -> estimator.setHandleInvalid("keep").fit(data))
                .getMessage();
    }

    @Test
    void aScalarColumnWithNoValidValueIsNamed() {
        String message = failure(new BatchNormalization().setInputCols("a", "b").setOutputCols("a_n", "b_n"));
        assertTrue(message.contains("'b' has no value with positive weight"), message);
        assertFalse(message.contains("feature 1"), message);
    }

    @Test
    void aVectorOrArrayFeatureWithNoValidValueIsNamedByColumnAndIndex() {
        for (String column : List.of("features", "arr")) {
            String message = failure(new BatchNormalization().setInputCol(column).setOutputCol("n"));
            assertTrue(message.contains("'" + column + "[1]' has no value with positive weight"), message);
            assertFalse(message.contains("feature 1"), message);
        }
    }

    @Test
    void aFeatureWhoseVarianceOverflowsIsNamed() {
        String scalar = failure(new BatchNormalization().setInputCols("a", "big").setOutputCols("a_n", "big_n"));
        assertTrue(scalar.contains("'big' has a non-finite variance"), scalar);
        assertFalse(scalar.contains("feature 1"), scalar);
        Dataset<Row> overflowing = data.selectExpr("array(a, big) AS arr");
        String array = assertThrows(IllegalArgumentException.class, () -> new BatchNormalization().setInputCol("arr")
                .setOutputCol("n").fit(overflowing)).getMessage();
        assertTrue(array.contains("'arr[1]' has a non-finite variance"), array);
    }
}
