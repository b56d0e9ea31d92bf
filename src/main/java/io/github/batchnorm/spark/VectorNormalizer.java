package io.github.batchnorm.spark;

import io.github.batchnorm.stats.AffineCoefficients;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.Metadata;

/**
 * Applies {@link AffineCoefficients} to a Vector column. Each call broadcasts its coefficients once, and every task of
 * the resulting query reads them from that broadcast: O(features) per executor, not per task. Nothing is kept between
 * calls, so a model that uses this is a value that any number of threads can transform with at once; Spark's context
 * cleaner removes a broadcast once the query that holds it is gone.
 */
public final class VectorNormalizer {
    private VectorNormalizer() {
    }

    /**
     * Appends the normalised Vector column to {@code dataset}.
     *
     * @param keepSparse when no shift applies (centering off), sparse vectors stay sparse; they also stay sparse when the
     *     coefficients store only some features (see {@link AffineCoefficients#mapSparse})
     * @param outputMetadata the output column's ML attribute metadata
     */
    public static Dataset<Row> transform(Dataset<?> dataset, FeatureInput input, AffineCoefficients coefficients,
            HandleInvalid handleInvalid, boolean keepSparse, Metadata outputMetadata) {
        return apply(dataset, input, coefficients, handleInvalid, keepSparse, outputMetadata, false);
    }

    /**
     * Appends the column restored by the inverse map, {@code x = (y - beta) / a + mean}, reading the normalised column
     * as {@code input}'s input column. Every {@code a} must be non-zero.
     *
     * @param keepSparse when no shift applies (centering off), sparse vectors stay sparse
     */
    public static Dataset<Row> inverseTransform(Dataset<?> dataset, FeatureInput input, AffineCoefficients coefficients,
            HandleInvalid handleInvalid, boolean keepSparse, Metadata outputMetadata) {
        return apply(dataset, input, coefficients, handleInvalid, keepSparse, outputMetadata, true);
    }

    private static Dataset<Row> apply(Dataset<?> dataset, FeatureInput input, AffineCoefficients coefficients,
            HandleInvalid handleInvalid, boolean keepSparse, Metadata outputMetadata, boolean inverse) {
        Broadcast<AffineCoefficients> broadcast = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext())
                .broadcast(coefficients);
        UserDefinedFunction udf = functions.udf(new NormalizeVector(broadcast, input.inputCol(), handleInvalid,
                keepSparse, inverse), SQLDataTypes.VectorType());
        String outputCol = input.outputCols()[0];
        Column normalized = udf.apply(ColumnNames.col(input.inputCol())).as(outputCol, outputMetadata);
        Dataset<Row> output = dataset.select(functions.col("*"), normalized);
        // Under "skip" the function marks a row to drop by returning null.
        return handleInvalid == HandleInvalid.SKIP ? output.filter(ColumnNames.col(outputCol).isNotNull()) : output;
    }

    /**
     * The per-row function, forward or inverse; it writes dense results into the array Spark deserialised for it, so a
     * sparse or "keep" result is its only allocation.
     */
    private static final class NormalizeVector implements UDF1<Vector, Vector> {
        private static final long serialVersionUID = 1L;
        private final Broadcast<AffineCoefficients> coefficients;
        private final String inputCol;
        private final HandleInvalid handleInvalid;
        private final boolean keepSparse;
        private final boolean inverse;

        NormalizeVector(Broadcast<AffineCoefficients> coefficients, String inputCol, HandleInvalid handleInvalid,
                boolean keepSparse, boolean inverse) {
            this.coefficients = coefficients;
            this.inputCol = inputCol;
            this.handleInvalid = handleInvalid;
            this.keepSparse = keepSparse;
            this.inverse = inverse;
        }

        @Override
        public Vector call(Vector vector) {
            if (vector == null) {
                if (handleInvalid == HandleInvalid.ERROR) {
                    throw new IllegalArgumentException(InvalidValues.nullRow(inputCol, "vector"));
                }
                return null;
            }
            AffineCoefficients affine = coefficients.value();
            if (vector.size() != affine.numFeatures()) {
                throw new IllegalArgumentException(InvalidValues.vectorSize(inputCol, vector.size(), affine.numFeatures()));
            }
            if (vector instanceof DenseVector) {
                double[] values = ((DenseVector) vector).values();
                if (handleInvalid == HandleInvalid.KEEP) {
                    double[] out = new double[values.length];
                    mapDense(affine, values, out);
                    passThroughNonFinite(values, null, out);
                    return new DenseVector(out);
                }
                if (!allFinite(values, null)) {
                    return null;
                }
                // Spark deserialises a fresh array for every call, so it can take the result in place.
                mapDense(affine, values, values);
                return vector;
            }
            SparseVector sparse = (SparseVector) vector;
            double[] values = sparse.values();
            if (handleInvalid != HandleInvalid.KEEP && !allFinite(values, sparse.indices())) {
                return null;
            }
            if (keepSparse || !affine.storesEveryFeature()) {
                // Without centering, or with coefficients stored for the touched features only (an implicit feature
                // maps 0 to 0), the result stays sparse: what the row's entries cost, plus any stored feature whose
                // 0 maps elsewhere.
                AffineCoefficients.SparseRow row = affine.mapSparse(sparse.indices(), values, inverse);
                double[] out = row.values();
                if (handleInvalid == HandleInvalid.KEEP) {
                    passThroughNonFinite(values, sparse.indices(), row.indices(), out);
                }
                return new SparseVector(sparse.size(), row.indices(), out);
            }
            double[] out = new double[sparse.size()];
            if (inverse) {
                affine.invertSparseToDense(sparse.indices(), values, out);
            } else {
                affine.applySparseToDense(sparse.indices(), values, out);
            }
            if (handleInvalid == HandleInvalid.KEEP) {
                passThroughNonFinite(values, sparse.indices(), out);
            }
            return new DenseVector(out);
        }

        private void mapDense(AffineCoefficients affine, double[] values, double[] out) {
            if (inverse) {
                affine.invertDense(values, out);
            } else {
                affine.applyDense(values, out);
            }
        }

        /** Whether every stored value is finite; under "error", fails naming the first that is not. */
        private boolean allFinite(double[] values, int[] indices) {
            for (int k = 0; k < values.length; k++) {
                if (!Double.isFinite(values[k])) {
                    if (handleInvalid == HandleInvalid.ERROR) {
                        throw new IllegalArgumentException(InvalidValues.element(inputCol,
                                indices == null ? k : indices[k], Double.toString(values[k])));
                    }
                    return false;
                }
            }
            return true;
        }

        /** {@link #passThroughNonFinite(double[], int[], double[])} into a sparse result with indices {@code outIndices}. */
        private static void passThroughNonFinite(double[] values, int[] indices, int[] outIndices, double[] out) {
            for (int k = 0; k < values.length; k++) {
                if (!Double.isFinite(values[k])) {
                    out[java.util.Arrays.binarySearch(outIndices, indices[k])] = values[k];
                }
            }
        }

        /** Under "keep", invalid values leave the transform as they came in. */
        private static void passThroughNonFinite(double[] values, int[] indices, double[] out) {
            for (int k = 0; k < values.length; k++) {
                if (!Double.isFinite(values[k])) {
                    out[indices == null ? k : indices[k]] = values[k];
                }
            }
        }
    }
}
