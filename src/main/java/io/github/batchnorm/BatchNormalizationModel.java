package io.github.batchnorm;

import io.github.batchnorm.spark.ModelStore;
import io.github.batchnorm.spark.ColumnNormalizer;
import io.github.batchnorm.spark.FeatureInput;
import io.github.batchnorm.spark.HandleInvalid;
import io.github.batchnorm.spark.VectorNormalizer;
import io.github.batchnorm.stats.AffineCoefficients;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.Summaries;
import java.util.Arrays;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * A fitted batch normalisation: maps each feature to {@code gamma * (x - mean) / sqrt(variance + epsilon) + beta}.
 *
 * <p>The model keeps the fitted {@link FeatureStatistics} (count, weights, mean and centred second moment), so epsilon,
 * gamma, beta, center, scale and varianceMode can still be changed on the model without refitting. The transform reduces
 * them to one multiply-add per value, {@code a * x + b}, and broadcasts {@code a} and {@code b} once per distinct setting.
 * A feature with zero variance and {@code epsilon = 0} is mapped to exactly {@code beta}, never to NaN or infinity.
 */
public final class BatchNormalizationModel extends Model<BatchNormalizationModel>
        implements BatchNormalizationParams<BatchNormalizationModel>, MLWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final ParamDefinitions paramDefinitions;
    private final FeatureStatistics statistics;
    private final transient VectorNormalizer normalizer = new VectorNormalizer();

    /** Creates a model from fitted statistics. */
    public BatchNormalizationModel(String uid, FeatureStatistics statistics) {
        this.uid = uid;
        this.paramDefinitions = new ParamDefinitions(this);
        this.statistics = statistics;
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public ParamDefinitions paramDefinitions() {
        return paramDefinitions;
    }

    /** The fitted statistics. */
    public FeatureStatistics statistics() {
        return statistics;
    }

    /** Per-feature mean of the fitted data. */
    public Vector mean() {
        return Vectors.dense(statistics.mean());
    }

    /** Per-feature variance of the fitted data, in this model's {@code varianceMode}. */
    public Vector variance() {
        return Vectors.dense(statistics.variance(varianceModeValue()));
    }

    /** Number of rows the model was fitted on (rows of weight zero included, rows skipped as invalid excluded). */
    public long count() {
        return statistics.rowCount();
    }

    /** Number of features. */
    public int numFeatures() {
        return statistics.numFeatures();
    }

    /** The per-feature gamma in effect: the param's value, or 1.0 for every feature when it is empty. */
    public Vector gammaValues() {
        return Vectors.dense(expand(getGamma(), 1.0));
    }

    /** The per-feature beta in effect: the param's value, or 0.0 for every feature when it is empty. */
    public Vector betaValues() {
        return Vectors.dense(expand(getBeta(), 0.0));
    }

    private double[] expand(double[] values, double fill) {
        if (values.length > 0) {
            return values;
        }
        double[] filled = new double[numFeatures()];
        Arrays.fill(filled, fill);
        return filled;
    }

    /** The affine map {@code y = a * x + b} that the current params and statistics reduce to. */
    public AffineCoefficients coefficients() {
        return AffineCoefficients.of(statistics.mean(), statistics.variance(varianceModeValue()), getGamma(), getBeta(),
                getEpsilon(), getCenter(), getScale());
    }

    /**
     * Appends the normalised column(s). Vector input goes through a function over the broadcast coefficients; scalar and
     * array input through plain SQL expressions that whole-stage code generation compiles.
     */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        FeatureInput input = StageColumns.resolve(this, dataset.schema(), false);
        StructType outputSchema = input.validateAndTransformSchema(dataset.schema(), numFeatures(), getGamma(), getBeta());
        HandleInvalid handleInvalid = HandleInvalid.fromParam(getHandleInvalid());
        if (input.kind() == FeatureInput.Kind.VECTOR) {
            return normalizer.transform(dataset, input, coefficients(), handleInvalid, !getCenter(),
                    outputSchema.apply(input.outputCols()[0]).metadata());
        }
        return ColumnNormalizer.transform(dataset, input, coefficients(), handleInvalid);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return StageColumns.resolve(this, schema, false)
                .validateAndTransformSchema(schema, numFeatures(), getGamma(), getBeta());
    }

    @Override
    public BatchNormalizationModel copy(ParamMap extra) {
        BatchNormalizationModel copied = new BatchNormalizationModel(uid, statistics);
        return copyValues(copied, extra).setParent(parent());
    }

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    /** Reads a model saved with {@code write().save(path)}. */
    public static MLReader<BatchNormalizationModel> read() {
        return new Reader();
    }

    /** Loads a model saved with {@code save(path)}. */
    public static BatchNormalizationModel load(String path) {
        return read().load(path);
    }

    @Override
    public String toString() {
        return "BatchNormalizationModel: uid=" + uid + ", numFeatures=" + numFeatures() + ", count=" + count()
                + ", epsilon=" + getEpsilon() + ", varianceMode=" + getVarianceMode()
                + ", mean=" + Summaries.abbreviate(statistics.mean())
                + ", variance=" + Summaries.abbreviate(statistics.variance(varianceModeValue()));
    }

    private static final class Writer extends MLWriter {
        private final BatchNormalizationModel model;

        Writer(BatchNormalizationModel model) {
            this.model = model;
        }

        @Override
        public void saveImpl(String path) {
            ModelStore.save(model, model.statistics, path, sparkSession());
        }
    }

    private static final class Reader extends MLReader<BatchNormalizationModel> {
        @Override
        public BatchNormalizationModel load(String path) {
            DefaultParamsReader.Metadata metadata = ModelStore.loadMetadata(path, sparkSession(),
                    BatchNormalizationModel.class.getName());
            BatchNormalizationModel model = new BatchNormalizationModel(metadata.uid(),
                    ModelStore.loadStatistics(path, sparkSession()));
            metadata.getAndSetParams(model, metadata.getAndSetParams$default$2());
            return model;
        }
    }
}
