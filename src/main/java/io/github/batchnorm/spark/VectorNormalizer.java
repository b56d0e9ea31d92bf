package io.github.batchnorm.spark;

import io.github.batchnorm.stats.AffineCoefficients;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;

/**
 * Applies {@link AffineCoefficients} to a Vector column. The coefficients are broadcast once and reused for as long as
 * they do not change, so repeated transforms (a pipeline scoring many batches, a streaming query) ship them once.
 * Not thread-safe for concurrent {@link #normalize} calls with different coefficients; a model holds one instance.
 */
public final class VectorNormalizer {
    private Broadcast<AffineCoefficients> broadcast;

    /**
     * The expression that normalises {@code inputCol}.
     *
     * @param keepSparse when no shift applies (centering off), sparse vectors stay sparse
     */
    public synchronized Column normalize(SparkSession spark, AffineCoefficients coefficients, String inputCol,
            boolean keepSparse) {
        if (broadcast == null || !broadcast.value().equals(coefficients)) {
            broadcast = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(coefficients);
        }
        UserDefinedFunction udf = functions.udf(new NormalizeVector(broadcast, inputCol, keepSparse),
                SQLDataTypes.VectorType());
        return udf.apply(functions.col(inputCol));
    }

    /** The per-row function; one output vector is its only allocation. */
    private static final class NormalizeVector implements UDF1<Vector, Vector> {
        private static final long serialVersionUID = 1L;
        private final Broadcast<AffineCoefficients> coefficients;
        private final String inputCol;
        private final boolean keepSparse;

        NormalizeVector(Broadcast<AffineCoefficients> coefficients, String inputCol, boolean keepSparse) {
            this.coefficients = coefficients;
            this.inputCol = inputCol;
            this.keepSparse = keepSparse;
        }

        @Override
        public Vector call(Vector vector) {
            if (vector == null) {
                throw new IllegalArgumentException("Input column '" + inputCol + "' contains a null vector.");
            }
            AffineCoefficients affine = coefficients.value();
            if (vector.size() != affine.numFeatures()) {
                throw new IllegalArgumentException("Input column '" + inputCol + "' has a vector of size " + vector.size()
                        + ", but the model was fitted on " + affine.numFeatures() + " features.");
            }
            if (vector instanceof DenseVector) {
                double[] out = new double[vector.size()];
                affine.applyDense(((DenseVector) vector).values(), out);
                return new DenseVector(out);
            }
            SparseVector sparse = (SparseVector) vector;
            if (keepSparse) {
                double[] out = new double[sparse.values().length];
                affine.applySparseScaleOnly(sparse.indices(), sparse.values(), out);
                return new SparseVector(sparse.size(), sparse.indices(), out);
            }
            double[] out = new double[sparse.size()];
            affine.applySparseToDense(sparse.indices(), sparse.values(), out);
            return new DenseVector(out);
        }
    }
}
