package io.github.batchnorm;

import io.github.batchnorm.spark.ColumnNormalizer;
import io.github.batchnorm.spark.FeatureInput;
import io.github.batchnorm.spark.FitSettings;
import io.github.batchnorm.spark.GroupColumns;
import io.github.batchnorm.spark.GroupedNormalizer;
import io.github.batchnorm.spark.GroupedSummaryAggregation;
import io.github.batchnorm.spark.GroupedStatistics;
import io.github.batchnorm.spark.GroupedStore;
import io.github.batchnorm.spark.HandleInvalid;
import io.github.batchnorm.spark.ModelDirectory;
import io.github.batchnorm.spark.ModelStore;
import io.github.batchnorm.spark.SummaryAggregation;
import io.github.batchnorm.spark.VectorNormalizer;
import io.github.batchnorm.stats.AffineCoefficients;
import io.github.batchnorm.stats.DenseArrays;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.FeatureAccumulator;
import io.github.batchnorm.stats.NonFiniteStatisticException;
import io.github.batchnorm.stats.VectorText;
import io.github.batchnorm.stats.VarianceMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructType;

/**
 * A fitted batch normalisation: maps each feature to {@code gamma * (x - mean) / sqrt(variance + epsilon) + beta}.
 *
 * <p>The model keeps the fitted {@link FeatureStatistics} (count, weights, mean and centred second moment), so epsilon,
 * gamma, beta, center, scale and varianceMode can still be changed on the model without refitting. The transform reduces
 * them to {@code (x - mean) * a + beta} with {@code a = gamma / sqrt(variance + epsilon)}: one subtraction, one
 * multiplication and one addition per value, the mean subtracted first so that the output is as exact as the
 * statistics. A Vector transform broadcasts the coefficients once per {@code transform} call. The model holds nothing
 * but its uid, params and statistics: copies of one model can transform from several threads at once.
 * A feature with zero variance and {@code epsilon = 0} is mapped to exactly {@code beta}, never to NaN or infinity.
 *
 * <p>A model is a value: {@link #update} returns a new model with the new data's statistics merged in (exactly, or by a
 * moving average when {@code momentum} is set) and leaves this one as it is. {@link #inverseTransform} maps normalised
 * values back, and {@link #fromStatistics} builds a model from statistics trained elsewhere (Keras, PyTorch).
 */
public final class BatchNormalizationModel extends Model<BatchNormalizationModel>
        implements BatchNormalizationParams<BatchNormalizationModel>, MLWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final ParamDefinitions paramDefinitions;
    private final FeatureStatistics statistics;
    /** Per-group statistics when fitted with groupCols, else null; {@code statistics} then covers all training rows. */
    private final GroupedStatistics groups;

    /**
     * A model with no features, for Java's {@code ServiceLoader}: Spark Connect's ML service lists the stages registered
     * under {@code META-INF/services}, and that listing needs a public no-argument constructor on every class in it.
     */
    public BatchNormalizationModel() {
        this(Identifiable$.MODULE$.randomUID("batchNorm"), FeatureStatistics.running(new double[0], new double[0],
                VarianceMode.POPULATION));
    }

    /** Creates a model from fitted statistics. */
    public BatchNormalizationModel(String uid, FeatureStatistics statistics) {
        this(uid, statistics, null);
    }

    /** Creates a model from fitted per-group statistics and the statistics of all their rows together. */
    public BatchNormalizationModel(String uid, FeatureStatistics statistics, GroupedStatistics groups) {
        this.uid = uid;
        this.paramDefinitions = new ParamDefinitions(this);
        this.statistics = statistics;
        this.groups = groups;
    }

    /** Whether the model has statistics per group (it was fitted with {@code groupCols}). */
    public boolean isGrouped() {
        return groups != null;
    }

    /** Number of groups; 0 for a model without groups. */
    public long groupCount() {
        return groups == null ? 0 : groups.groupCount();
    }

    /** The per-group statistics as stored, or null for a model without groups. Internal: use {@link #groupStatistics}. */
    public GroupedStatistics groupedStatistics() {
        return groups;
    }

    /**
     * The per-group statistics: the group columns, {@code count} (the group's training rows) and the per-feature arrays
     * {@code mean} and {@code variance} (in {@code varianceMode}; null for a feature with no valid value in the group).
     * A distributed DataFrame: reading it does not bring the groups to the driver.
     *
     * @throws IllegalStateException if the model was fitted without {@code groupCols}
     */
    public Dataset<Row> groupStatistics() {
        if (groups == null) {
            throw new IllegalStateException("This model has no per-group statistics: it was fitted without groupCols.");
        }
        return groups.publicFrame(varianceModeValue());
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

    /**
     * Per-feature mean of the fitted data: a sparse Vector of the stored features when the statistics store only some
     * (every other feature's mean is 0), else a dense one.
     */
    public Vector mean() {
        if (!statistics.storesEveryFeature()) {
            return Vectors.sparse(numFeatures(), statistics.storedFeatures(), statistics.storedMean());
        }
        return Vectors.dense(statistics.mean());
    }

    /**
     * Per-feature variance of the fitted data, in this model's {@code varianceMode}: sparse or dense as {@link #mean()}.
     *
     * @throws IllegalArgumentException if the statistics are running statistics in the other convention
     */
    public Vector variance() {
        requireVarianceMode();
        if (!statistics.storesEveryFeature()) {
            return Vectors.sparse(numFeatures(), statistics.storedFeatures(),
                    statistics.storedVariance(varianceModeValue()));
        }
        return Vectors.dense(varianceValues());
    }

    /** The variance in {@code varianceMode}, or a message that says which convention running statistics have. */
    private double[] varianceValues() {
        requireVarianceMode();
        return statistics.variance(varianceModeValue());
    }

    /** Fails with a message that says which convention running statistics have, if it is not {@code varianceMode}. */
    private void requireVarianceMode() {
        VarianceMode mode = varianceModeValue();
        if (!statistics.isExact() && statistics.storedVarianceMode() != mode) {
            throw new IllegalArgumentException("varianceMode is '" + mode + "', but this model's statistics are running"
                    + " statistics (from fromStatistics or updates with momentum) whose variance is a "
                    + statistics.storedVarianceMode() + " variance, which cannot be converted without the exact moments."
                    + " Set varianceMode to '" + statistics.storedVarianceMode() + "'.");
        }
    }

    /**
     * Rows the statistics summarise: for a fit, the rows fitted on (rows of weight zero and rows skipped as invalid
     * excluded); after updates, every row fitted and updated on; 0 for statistics imported with {@link #fromStatistics}.
     */
    public long count() {
        return statistics.rowCount();
    }

    /** Number of features. */
    public int numFeatures() {
        return statistics.numFeatures();
    }

    /**
     * The per-feature gamma in effect: the param's value, or 1.0 for every feature when it is empty.
     *
     * @throws IllegalStateException when the statistics store only some features and an array of every feature would
     *     not fit in this JVM (a hashed column of 2^28 features is 2 GB of ones)
     */
    public Vector gammaValues() {
        return Vectors.dense(expand(getGamma(), 1.0, "gamma"));
    }

    /** The per-feature beta in effect: the param's value, or 0.0 for every feature when it is empty; as {@link #gammaValues}. */
    public Vector betaValues() {
        return Vectors.dense(expand(getBeta(), 0.0, "beta"));
    }

    private double[] expand(double[] values, double fill, String param) {
        if (values.length > 0) {
            return values;
        }
        if (!statistics.storesEveryFeature()) {
            DenseArrays.require(numFeatures(), Double.BYTES, "the per-feature " + param, "The param " + param
                    + " is empty, so it is " + fill + " for every feature; read it as such, and the statistics by"
                    + " their stored features.");
        }
        double[] filled = new double[numFeatures()];
        Arrays.fill(filled, fill);
        return filled;
    }

    /**
     * The map {@code y = (x - mean) * a + beta} that the current params and statistics reduce to. When the statistics
     * store only some features and gamma and beta are the defaults, so do the coefficients (an implicit feature's map
     * sends 0 to 0); per-feature gamma or beta, set by the user, make them store every feature.
     */
    public AffineCoefficients coefficients() {
        if (!statistics.storesEveryFeature() && getGamma().length == 0 && getBeta().length == 0) {
            requireVarianceMode();
            return AffineCoefficients.ofStored(numFeatures(), statistics.storedFeatures(), statistics.storedMean(),
                    statistics.storedVariance(varianceModeValue()), getEpsilon(), getCenter(), getScale());
        }
        return AffineCoefficients.of(statistics.mean(), varianceValues(), getGamma(), getBeta(), getEpsilon(), getCenter(),
                getScale());
    }

    /**
     * Appends the normalised column(s). Vector input goes through a function over the broadcast coefficients; scalar and
     * array input through plain SQL expressions, with no user code in the plan.
     */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        FeatureInput input = StageSettings.resolve(this, dataset.schema(), false);
        StructType outputSchema = input.validateAndTransformSchema(dataset.schema(), numFeatures(), getGamma(), getBeta());
        HandleInvalid handleInvalid = HandleInvalid.fromParam(getHandleInvalid());
        if (groups != null) {
            return GroupedNormalizer.transform(dataset, groupSettings(input, outputSchema, handleInvalid), false);
        }
        if (input.kind() == FeatureInput.Kind.VECTOR) {
            return VectorNormalizer.transform(dataset, input, coefficients(), handleInvalid, !getCenter(),
                    outputSchema.apply(input.outputCols()[0]).metadata());
        }
        return ColumnNormalizer.transform(dataset, input, coefficients(), handleInvalid);
    }

    private GroupedNormalizer.Settings groupSettings(FeatureInput input, StructType outputSchema,
            HandleInvalid handleInvalid) {
        Metadata vectorMetadata = input.kind() == FeatureInput.Kind.VECTOR
                ? outputSchema.apply(input.outputCols()[0]).metadata() : Metadata.empty();
        return new GroupedNormalizer.Settings(input, groups, coefficients(), gammaValues().toArray(), getEpsilon(),
                getScale(), varianceModeValue(), getMinGroupCount(), getHandleUnseenGroup(), handleInvalid,
                vectorMetadata);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        requireVarianceMode();
        return StageSettings.resolve(this, schema, false)
                .validateAndTransformSchema(schema, numFeatures(), getGamma(), getBeta());
    }

    /**
     * A new model whose statistics also cover {@code dataset}, read like {@code fit} reads its data (the same input and
     * weight columns, {@code handleInvalid} and aggregation depth, in one pass); this model is left as it is, and the
     * new one has its uid, params and parent.
     *
     * <ul>
     *   <li>{@code momentum} not set: the exact merge. The statistics equal those of one fit on all the data this model
     *       has seen and {@code dataset} together (up to rounding), without reading the old data again; per-feature counts
     *       under {@code handleInvalid = keep} add up too. Needs exact statistics: a model from {@link #fromStatistics}
     *       or from a momentum update is refused.</li>
     *   <li>{@code momentum} set: {@code running = momentum * running + (1 - momentum) * batch} for the mean and for the
     *       variance, with the batch variance in {@code varianceMode} (population: Keras; sample: PyTorch's
     *       {@code running_var}). The result is running statistics; counts keep accumulating, for information.</li>
     * </ul>
     *
     * <p>Data with no row of positive weight (an empty micro-batch) changes nothing; a feature with no valid value in
     * {@code dataset} (under {@code handleInvalid = keep}) keeps its statistics.
     *
     * @throws IllegalArgumentException before any work for a missing or mistyped column, a model that cannot be updated
     *     as asked, or a schema that declares another number of features; during the pass, as {@code fit} does, for rows
     *     of another number of features, invalid values under {@code handleInvalid = error} and invalid weights
     */
    public BatchNormalizationModel update(Dataset<?> dataset) {
        FeatureInput input = StageSettings.resolveInputs(this, dataset.schema());
        int numFeatures = numFeatures();
        input.requireDeclaredSize(numFeatures);
        boolean moving = isSet(momentum());
        VarianceMode mode = varianceModeValue();
        if (!moving && !statistics.isExact()) {
            throw new IllegalArgumentException("Cannot update this model exactly: its statistics are running statistics"
                    + " (from fromStatistics or updates with momentum), not the moments of any data, so new data cannot be"
                    + " merged into them exactly. Set momentum to update them as a moving average.");
        }
        if (moving) {
            requireVarianceMode();
        }
        if (groups != null) {
            return updateGroups(dataset, input, moving, mode);
        }
        FeatureAccumulator batch = SummaryAggregation.summarize(dataset,
                StageSettings.fitSettings(this, input, numFeatures, FitSettings.SizeSource.MODEL));
        try {
            FeatureStatistics updated = moving ? batch.movingAverageInto(statistics, getMomentum(), mode)
                    : batch.mergeInto(statistics);
            return copyValues(new BatchNormalizationModel(uid, updated), new ParamMap()).setParent(parent());
        } catch (NonFiniteStatisticException e) {
            throw SummaryAggregation.nonFinite(input, e);
        }
    }

    /** {@link #update} of a model with groups: the batch is fitted per group, and merged per group and globally. */
    private BatchNormalizationModel updateGroups(Dataset<?> dataset, FeatureInput input, boolean moving,
            VarianceMode mode) {
        StructType groupFields = GroupColumns.resolve(dataset.schema(), groups.groupCols(),
                java.util.Arrays.asList(input.inputCols()));
        for (org.apache.spark.sql.types.StructField fitted : groups.groupFields().fields()) {
            org.apache.spark.sql.types.DataType type = groupFields.apply(fitted.name()).dataType();
            if (!type.equals(fitted.dataType())) {
                throw new IllegalArgumentException("Group column '" + fitted.name() + "' has type "
                        + type.catalogString() + ", but the model was fitted with " + fitted.dataType().catalogString()
                        + ".");
            }
        }
        GroupedSummaryAggregation.Result batch = GroupedSummaryAggregation.fit(dataset,
                StageSettings.fitSettings(this, input, numFeatures(), FitSettings.SizeSource.MODEL), groups.groupFields());
        if (batch.groups() == null) {
            return copy(new ParamMap());
        }
        try {
            FeatureStatistics global = moving ? statistics.movingAverage(batch.global(), getMomentum(), mode)
                    : statistics.merge(batch.global());
            GroupedStatistics merged = GroupedSummaryAggregation.merge(groups, batch.groups(),
                    moving ? getMomentum() : null, mode);
            batch.groups().table().unpersist();
            return copyValues(new BatchNormalizationModel(uid, global, merged), new ParamMap()).setParent(parent());
        } catch (NonFiniteStatisticException e) {
            throw SummaryAggregation.nonFinite(input, e);
        }
    }

    /**
     * Maps normalised values back to the original scale, {@code x = (y - beta) / a + mean} with this model's
     * {@code a = gamma / sqrt(variance + epsilon)}: reads the output column(s) ({@code outputCol} or {@code outputCols})
     * and appends the restored values under the input column names ({@code inputCol} or {@code inputCols}), which must
     * not exist in {@code dataset}. Scalar columns come back as doubles, arrays with their element type, Vectors as
     * Vectors (sparse ones stay sparse when {@code center} is false). Invalid values follow {@code handleInvalid} as in
     * {@link #transform}. With {@code scale = false}, {@code a = 1}.
     *
     * @throws IllegalArgumentException before any work, if a feature cannot be inverted (its {@code a} is 0: gamma is 0,
     *     or its variance and epsilon are both 0, so the transform sent every value to beta), or for a missing or
     *     mistyped normalised column or an existing restored column
     */
    public Dataset<Row> inverseTransform(Dataset<?> dataset) {
        return inverseTransform(dataset, new String[0]);
    }

    /**
     * {@link #inverseTransform(Dataset)} into other columns: {@code restoredCols} names one column per input column (one
     * for a Vector or array input), for data that still has the original columns.
     */
    public Dataset<Row> inverseTransform(Dataset<?> dataset, String... restoredCols) {
        FeatureInput input = StageSettings.resolveInverse(this, dataset.schema(), restoredCols);
        StructType outputSchema = input.validateAndTransformSchema(dataset.schema(), numFeatures(), getGamma(), getBeta());
        AffineCoefficients coefficients = coefficients();
        long zeroCount = coefficients.zeroScaleFeatureCount();
        if (zeroCount > 0) {
            int[] zero = coefficients.zeroScaleFeatures(VectorText.SHOWN_VALUES);
            throw new IllegalArgumentException("Cannot invert the normalisation of " + featureNames(zero, zeroCount)
                    + ": its scale"
                    + " gamma / sqrt(variance + epsilon) is 0 (gamma is 0, or the variance and epsilon are both 0), so"
                    + " the transform sent every value to beta.");
        }
        HandleInvalid handleInvalid = HandleInvalid.fromParam(getHandleInvalid());
        if (groups != null) {
            return GroupedNormalizer.transform(dataset, groupSettings(input, outputSchema, handleInvalid), true);
        }
        if (input.kind() == FeatureInput.Kind.VECTOR) {
            return VectorNormalizer.inverseTransform(dataset, input, coefficients, handleInvalid, !getCenter(),
                    outputSchema.apply(input.outputCols()[0]).metadata());
        }
        return ColumnNormalizer.inverseTransform(dataset, input, coefficients, handleInvalid);
    }

    /** Feature names for messages: the scalar input columns, or {@code col[j]}; at most five, then a count. */
    private String featureNames(int[] features, long total) {
        boolean scalars = isSet(inputCols());
        List<String> names = new ArrayList<>();
        for (int k = 0; k < Math.min(features.length, VectorText.SHOWN_VALUES); k++) {
            names.add(scalars ? getInputCols()[features[k]] : getInputCol() + "[" + features[k] + "]");
        }
        String list = String.join(", ", names);
        return total > names.size() ? list + ", ... (" + total + " features)" : list;
    }

    /**
     * A model from statistics trained elsewhere, in the population convention: for example a Keras
     * {@code BatchNormalization} layer's {@code moving_mean}, {@code moving_variance}, {@code gamma} and {@code beta}
     * with its {@code epsilon}. The model normalises with exactly these numbers:
     * {@code gamma * (x - mean) / sqrt(variance + epsilon) + beta}. Set {@code inputCol} or {@code inputCols} (and the
     * outputs) on it before transforming.
     *
     * <p>Its statistics are running statistics with no count: {@link #update} refuses to merge into them exactly (there
     * are no moments to merge with) but moves them with {@code momentum} set, as Keras would. For a PyTorch layer, use
     * {@link #fromStatistics(double[], double[], double[], double[], double, String)} with {@code "sample"}.
     *
     * @param mean per-feature mean, finite
     * @param variance per-feature variance to normalise with, finite and {@code >= 0}
     * @param gamma per-feature scale, finite, or empty for 1.0 everywhere
     * @param beta per-feature offset, finite, or empty for 0.0 everywhere
     * @param epsilon added to the variance, finite and {@code >= 0}
     * @throws IllegalArgumentException naming the argument that is out of range or of the wrong length
     */
    public static BatchNormalizationModel fromStatistics(double[] mean, double[] variance, double[] gamma, double[] beta,
            double epsilon) {
        return fromStatistics(mean, variance, gamma, beta, epsilon, VarianceMode.POPULATION.paramValue());
    }

    /**
     * {@link #fromStatistics(double[], double[], double[], double[], double)} with the convention the variance is in,
     * which becomes the model's {@code varianceMode}. The model normalises with {@code variance} as given either way; the
     * convention decides which batch variance later momentum updates average in. {@code "population"}: Keras'
     * {@code moving_variance}. {@code "sample"}: PyTorch's {@code running_var}, a moving average of unbiased batch
     * variances.
     */
    public static BatchNormalizationModel fromStatistics(double[] mean, double[] variance, double[] gamma, double[] beta,
            double epsilon, String varianceMode) {
        int n = mean.length;
        if (n == 0) {
            throw new IllegalArgumentException("fromStatistics: mean is empty; give one value per feature.");
        }
        if (variance.length != n) {
            throw new IllegalArgumentException("fromStatistics: mean has " + n + " values but variance has "
                    + variance.length + "; give one of each per feature.");
        }
        requireFinite("mean", mean, false);
        requireFinite("variance", variance, true);
        requireAffine("gamma", gamma, n, "1.0");
        requireAffine("beta", beta, n, "0.0");
        if (!(epsilon >= 0.0) || Double.isInfinite(epsilon)) {
            throw new IllegalArgumentException("fromStatistics: epsilon must be finite and >= 0 but was " + epsilon + ".");
        }
        VarianceMode mode = VarianceMode.fromParam(varianceMode);
        BatchNormalizationModel model = new BatchNormalizationModel(Identifiable$.MODULE$.randomUID("batchNorm"),
                FeatureStatistics.running(mean, variance, mode));
        return model.setEpsilon(epsilon).setGamma(gamma).setBeta(beta).setVarianceMode(mode.paramValue());
    }

    private static void requireFinite(String name, double[] values, boolean nonNegative) {
        for (int j = 0; j < values.length; j++) {
            if (!Double.isFinite(values[j]) || (nonNegative && values[j] < 0.0)) {
                throw new IllegalArgumentException("fromStatistics: " + name + "[" + j + "] is " + values[j] + "; every "
                        + name + " must be finite" + (nonNegative ? " and >= 0." : "."));
            }
        }
    }

    private static void requireAffine(String name, double[] values, int numFeatures, String fill) {
        if (values.length != 0 && values.length != numFeatures) {
            throw new IllegalArgumentException("fromStatistics: " + name + " has " + values.length + " values but there"
                    + " are " + numFeatures + " features; give one per feature, or none for " + fill + ".");
        }
        requireFinite(name, values, false);
    }

    @Override
    public BatchNormalizationModel copy(ParamMap extra) {
        BatchNormalizationModel copied = new BatchNormalizationModel(uid, statistics, groups);
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

    /**
     * Loads a model saved with {@code save(path)}. A saved {@code PipelineModel} with exactly one
     * {@code BatchNormalizationModel} stage loads that stage (and only it).
     *
     * @throws IllegalArgumentException with one line that says what the folder holds instead of a model: nothing,
     *     another stage's model (named), a pipeline without exactly one such stage (its stages named), an incomplete
     *     copy, corrupt metadata or data, or a format version newer than this version reads
     */
    public static BatchNormalizationModel load(String path) {
        return read().load(path);
    }

    @Override
    public String toString() {
        // Never throws: a mismatched convention shows the stored variance and says which one it is.
        VarianceMode shown = statistics.isExact() ? varianceModeValue() : statistics.storedVarianceMode();
        return "BatchNormalizationModel: uid=" + uid + ", numFeatures=" + numFeatures() + ", count=" + count()
                + (groups == null ? "" : ", groups=" + groups.groupCount() + " (by " + String.join(", ",
                        groups.groupCols()) + ")")
                + ", epsilon=" + getEpsilon() + ", varianceMode=" + getVarianceMode()
                + (statistics.isExact() ? "" : ", running statistics (" + shown + " variance)")
                + (statistics.storesEveryFeature() ? ", mean=" + VectorText.abbreviate(statistics.mean())
                        + ", variance=" + VectorText.abbreviate(statistics.variance(shown))
                        : ", " + statistics.storedFeatureCount() + " stored features "
                        + VectorText.abbreviate(statistics.storedFeatures()) + " (the others: mean 0, variance 0)"
                        + ", stored mean=" + VectorText.abbreviate(statistics.storedMean())
                        + ", stored variance=" + VectorText.abbreviate(statistics.storedVariance(shown)));
    }

    private static final class Writer extends MLWriter {
        private final BatchNormalizationModel model;

        Writer(BatchNormalizationModel model) {
            this.model = model;
        }

        @Override
        public void saveImpl(String path) {
            ModelStore.save(model, model.statistics, path, sparkSession());
            if (model.groups != null) {
                GroupedStore.save(model.groups, path);
            }
        }
    }

    private static final class Reader extends MLReader<BatchNormalizationModel> {
        @Override
        public BatchNormalizationModel load(String path) {
            ModelDirectory.Location location = ModelDirectory.locate(path, BatchNormalizationModel.class.getName(),
                    sparkSession().sparkContext().hadoopConfiguration());
            ModelStore.SavedMetadata metadata = ModelStore.parseMetadata(location.metadataJson(), location.path(),
                    BatchNormalizationModel.class.getName());
            FeatureStatistics statistics = ModelStore.loadStatistics(location.path(), sparkSession(), metadata);
            BatchNormalizationModel model = new BatchNormalizationModel(metadata.uid(), statistics,
                    GroupedStore.load(location.path(), sparkSession(), statistics.numFeatures()));
            ModelStore.applyParams(metadata, model, location.path());
            return model;
        }
    }
}
