package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.Expect;
import io.github.batchnorm.testing.SparkTestSession;
import java.util.List;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("BatchNormalization rejects bad input with a message that names what is wrong")
class BatchNormalizationValidationTest {
    private static SparkSession spark;
    private static Dataset<Row> threeFeatures;

    @BeforeAll
    static void startSpark() {
        spark = SparkTestSession.get();
        threeFeatures = SparkTestSession.vectors(Data.dense(31, 40, 3), false, 2);
    }

    private static Dataset<Row> vectorRows(Object... vectors) {
        List<Row> rows = new java.util.ArrayList<>();
        for (Object vector : vectors) {
            rows.add(RowFactory.create(vector));
        }
        return spark.createDataFrame(rows, new StructType().add("features", SQLDataTypes.VectorType()));
    }

    @Test
    void fitRejectsAMissingInputColumnBeforeAnyJob() {
        BatchNormalization estimator = new BatchNormalization().setInputCol("nope");
        assertEquals("Input column 'nope' does not exist. Available columns: id, features.",
                Expect.illegalArgument(() -> estimator.fit(threeFeatures)));
        assertEquals(0, Expect.jobsRunBefore(spark, () -> estimator.fit(threeFeatures)));
    }

    @Test
    void fitRejectsAnInputColumnThatIsNotAVector() {
        assertEquals("Input column 'id' must hold ML Vectors, array<double> or array<float> but has type bigint. Use"
                + " inputCols for numeric scalar columns.",
                Expect.illegalArgument(() -> new BatchNormalization().setInputCol("id").fit(threeFeatures)));
    }

    @Test
    void fitAndTransformRejectAnExistingOutputColumn() {
        String expected = "Output column 'id' already exists. Choose another output column name or drop the column first.";
        assertEquals(expected, Expect.illegalArgument(() -> new BatchNormalization().setOutputCol("id").fit(threeFeatures)));
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(threeFeatures);
        assertEquals(expected, Expect.illegalArgument(() -> model.setOutputCol("id").transform(threeFeatures)));
    }

    @Test
    void fitRejectsGammaOfTheWrongLength() {
        assertEquals("Param gamma has 2 values, but input column 'features' has 3 features. Give one value per feature,"
                + " or none for the default.", Expect.illegalArgument(() -> new BatchNormalization().setGamma(1, 2).fit(threeFeatures)));
    }

    @Test
    void fitRejectsBetaOfTheWrongLength() {
        assertEquals("Param beta has 4 values, but input column 'features' has 3 features. Give one value per feature,"
                + " or none for the default.", Expect.illegalArgument(() -> new BatchNormalization().setBeta(1, 2, 3, 4).fit(threeFeatures)));
    }

    @Test
    void gammaAndBetaOfDifferentLengthsAreRejectedBeforeAnyJob() {
        BatchNormalization estimator = new BatchNormalization().setGamma(1, 2, 3).setBeta(1, 2);
        assertEquals("Params gamma and beta must have the same length, but gamma has 3 values and beta has 2.",
                Expect.illegalArgument(() -> estimator.fit(threeFeatures)));
        assertEquals(0, Expect.jobsRunBefore(spark, () -> estimator.fit(threeFeatures)));
    }

    @Test
    void modelRejectsGammaOfTheWrongLengthAtTransform() {
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(threeFeatures);
        model.setGamma(1, 2);
        assertTrue(Expect.illegalArgument(() -> model.transform(threeFeatures)).startsWith("Param gamma has 2 values, but input column"
                + " 'features' has 3 features."));
    }

    @Test
    void invalidParamValuesAreRejectedWhenSet() {
        BatchNormalization estimator = new BatchNormalization();
        assertTrue(Expect.illegalArgument(() -> estimator.setEpsilon(-1e-3)).contains("parameter epsilon given invalid value -0.001"));
        assertTrue(Expect.illegalArgument(() -> estimator.setEpsilon(Double.POSITIVE_INFINITY))
                .contains("parameter epsilon given invalid value Infinity"));
        assertTrue(Expect.illegalArgument(() -> estimator.setAggregationDepth(1)).contains("parameter aggregationDepth given invalid"));
        assertTrue(Expect.illegalArgument(() -> estimator.setVarianceMode("unbiased"))
                .contains("parameter varianceMode given invalid value unbiased"));
        assertTrue(Expect.illegalArgument(() -> estimator.setGamma(1.0, Double.NaN)).contains("parameter gamma given invalid value"));
        assertEquals(1e-5, estimator.getEpsilon(), "a rejected value leaves the param unchanged");
    }

    @Test
    void fitRejectsAnEmptyDataset() {
        assertEquals("Cannot fit on an empty dataset: input column 'features' has no rows.",
                Expect.illegalArgument(() -> new BatchNormalization().fit(threeFeatures.limit(0))));
    }

    @Test
    void fitRejectsVectorsOfDifferentSizesNamingTheSizes() {
        Dataset<Row> mixed = vectorRows(Vectors.dense(1, 2, 3), Vectors.dense(4, 5, 6), Vectors.dense(1, 2)).coalesce(1);
        assertEquals("Input column 'features' holds vectors of different sizes: 3 and 2. Every row must have the same"
                + " number of features.", Expect.illegalArgument(() -> new BatchNormalization().fit(mixed)));
        Dataset<Row> acrossPartitions = vectorRows(Vectors.dense(1, 2, 3), Vectors.sparse(5, new int[] {0},
                new double[] {1})).repartition(2);
        assertTrue(Expect.illegalArgument(() -> new BatchNormalization().fit(acrossPartitions))
                .startsWith("Input column 'features' holds vectors of different sizes:"));
    }

    @Test
    void fitRejectsANullVector() {
        Dataset<Row> withNull = vectorRows(Vectors.dense(1, 2), null);
        assertEquals("Input column 'features' contains a null vector. Set handleInvalid to 'skip' to drop such rows, or"
                + " to 'keep' to leave such values out of the statistics and pass them through the transform.",
                Expect.illegalArgument(() -> new BatchNormalization().fit(withNull)));
    }

    @Test
    void fitRefusesToReturnNaNStatistics() {
        Dataset<Row> withNaN = vectorRows(Vectors.dense(1, 2), Vectors.dense(Double.NaN, 3));
        assertTrue(Expect.illegalArgument(() -> new BatchNormalization().fit(withNaN)).startsWith("Input column 'features' has an"
                + " invalid value NaN at index 0."));
        Dataset<Row> huge = vectorRows(Vectors.dense(1e300), Vectors.dense(-1e300));
        assertTrue(Expect.illegalArgument(() -> new BatchNormalization().fit(huge)).contains("Feature 'features[0]' has a non-finite variance"));
    }

    @Test
    void transformRejectsVectorsOfAnotherSize() {
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(threeFeatures);
        Dataset<Row> twoFeatures = vectorRows(Vectors.dense(1, 2));
        Exception failure = assertThrows(Exception.class, () -> model.transform(twoFeatures).collectAsList());
        Throwable cause = failure;
        while (cause.getCause() != null && !(cause instanceof IllegalArgumentException)) {
            cause = cause.getCause();
        }
        assertEquals("Input column 'features' has a vector of size 2, but the model was fitted on 3 features.",
                cause.getMessage());
    }
}
