package io.github.batchnorm.stats;

import java.io.IOException;
import java.io.ObjectOutputStream;
import java.util.Arrays;

/**
 * A mergeable per-feature summary of weighted rows: per feature, the weight, mean and (population) variance of the values it
 * was given: the fast accumulator of the {@code summation = fast} setting.
 *
 * <p>Three kinds of value reach a feature. Explicit values update its moments. The entries a sparse row leaves out are
 * zeros: they are not touched per row but folded in once, in {@link #toStatistics()}, with the same pairwise formula that
 * {@link #merge} uses, so a sparse column costs O(non-zeros), not O(rows x features). Missing values (NaN or infinite, in
 * the {@code ...WithMissing} methods) are left out of that feature only, and the feature's own count and weight say so.
 *
 * <p>Each feature is accumulated relative to a shift, the first value it was given: Welford's update runs on
 * {@code x - shift}, so data far from zero (such as {@code 1e9 + N(0,1)}) keeps the precision of its spread instead of
 * losing it to the rounding of a large running mean. The shift and the shifted mean together hold the mean in about twice a
 * double's precision and are added only at the end. The running value is the variance itself rather than the sum of
 * squared deviations, so data up to about 1e150 in magnitude cannot overflow it. Summaries are combined with the pairwise
 * formula of Chan, Golub and LeVeque. While every row so far was dense and complete, every feature has seen the same
 * weight, so one division per row replaces one per value and no per-feature weight arrays exist.
 *
 * <p><b>Touched-only form.</b> A summary of more than {@link #DENSE_FROM_START_UP_TO} features whose first row is
 * sparse holds only the features it has seen (a value or a missing value), in slots found through an open-addressing
 * table, so a task that reads tens of non-zeros per row of a 2^24-feature hashed column holds what it touched, not 2^24
 * slots. It switches to the dense form, once and for good,
 * when it touches more than {@link #DENSE_FROM_SHARE one feature in} that many, or is given a dense row: a touched feature
 * costs about twice a dense one (the slot's five values, its feature index and the table), and indexing is faster
 * than hashing. Both forms run the same per-feature arithmetic in the same order, so they give the same bits.
 * Merging costs what the argument holds.
 *
 * <p>The {@code add...} methods and {@link #merge} mutate this summary and return it, which is what Spark's
 * {@code treeAggregate} expects of its sequence and combine functions. {@code merge} never mutates its argument.
 * An empty summary ({@code new FastFeatureSummary()}) has no dimension yet and is an identity for {@code merge} on both sides.
 * Not thread-safe.
 */
public final class FastFeatureSummary implements FeatureAccumulator {
    private static final long serialVersionUID = 5L;
    /**
     * The touched-only form becomes dense when it holds more than {@code dimension / DENSE_FROM_SHARE} features: there a
     * touched feature's slot, index and table entries (about 60 to 90 bytes) outweigh the dense form's 40 bytes per
     * feature, and the dense form's direct indexing is faster.
     */
    static final int DENSE_FROM_SHARE = 4;
    /**
     * A summary of this many features or fewer is dense from its first row, sparse or not, as before the touched-only
     * form existed: its dense arrays are at most 40 MB, and a task of the hashed benchmark at 2^20 (25,000 rows of 20
     * non-zeros) touches a third of the features, past the switch, so the touched-only form only added its table and its
     * switch there (docs/performance.md, "Hashed features").
     */
    static final int DENSE_FROM_START_UP_TO = 1 << 20;
    /** Slots a touched-only summary starts with. */
    private static final int INITIAL_SLOTS = 16;
    /**
     * Rows per block: long enough to amortise the per-block merge, short enough that the block's sums stay far from
     * cancellation (their origin is the mean of everything before them) and from overflow.
     */
    static final int BLOCK_ROWS = 256;

    /** Number of features, or -1 before the first row. */
    private int dimension = -1;
    private long count;
    private double weightSum;
    private double weightSquareSum;
    /**
     * The touched-only form's features and their slots; null in the dense form, where a feature's slot is its index.
     * Every per-feature array below is indexed by slot.
     */
    private FeatureSlots touchedOnly;
    /** The share of the features above which the touched-only form becomes dense (1: never, 0: at once). */
    private final double denseShare;
    /** The largest dimension at which a sparse first row starts the dense form (0: a sparse first row never does). */
    private final int denseFromStartUpTo;
    /** Per-feature origin of the accumulation: the first value seen (0 until then). */
    private double[] shift;
    /** Per-feature mean of {@code x - shift} over the explicitly seen values. */
    private double[] shiftedMean;
    /** Per-feature population variance of the explicitly seen values. */
    private double[] variance;
    /** Per-feature weight of the explicitly seen values; null while every row was dense and complete (then: weightSum). */
    private double[] seenWeight;
    /**
     * Per-feature number of explicitly seen values, null exactly when {@code seenWeight} is. Only this exact count can
     * tell that a feature has no implicit zeros: the weight left over, total minus seen minus missing, is a difference
     * of rounded sums and can be a few ulps off 0, which would fold a phantom zero into the variance.
     */
    private long[] seenCount;
    /**
     * The open block of dense rows, accumulated as plain sums of deviations from {@code blockOrigin} (the running mean
     * when the block opened): three vectorisable operations per value instead of Welford's division-bound update. Merged
     * into the running statistics with Chan's formula every {@link #BLOCK_ROWS} rows, and before anything reads them.
     */
    private double[] blockOrigin;
    private double[] blockSum;
    private double[] blockSquareSum;
    private double blockWeight;
    private double blockWeightSquare;
    private int blockRows;
    /** Per-feature count, weight and squared weight of missing values; null until the first missing value. */
    private long[] missingCount;
    private double[] missingWeight;
    private double[] missingWeightSquare;

    /** Creates an empty summary; its dimension is set by the first row or merge. */
    public FastFeatureSummary() {
        this(1.0 / DENSE_FROM_SHARE, DENSE_FROM_START_UP_TO);
    }

    private FastFeatureSummary(double denseShare, int denseFromStartUpTo) {
        this.denseShare = denseShare;
        this.denseFromStartUpTo = denseFromStartUpTo;
    }

    /**
     * An empty summary whose touched-only form becomes dense above {@code share} of the features, whatever the
     * dimension: 1 keeps it until a dense row or merge arrives, 0 makes every summary dense from its first row, as
     * before the touched-only form existed.
     */
    static FastFeatureSummary withDenseShare(double share) {
        return new FastFeatureSummary(share, 0);
    }

    /** Adds a dense row with weight 1. */
    public FastFeatureSummary add(double[] values) {
        return add(values, 1.0);
    }

    /**
     * Adds a dense row whose every value is used (a NaN or infinite value makes that feature's statistics non-finite,
     * which {@link #toStatistics()} reports).
     *
     * @param values one value per feature; not retained
     * @param weight the row's weight, finite and {@code >= 0}; a row of weight zero is ignored (as in Spark's
     *     {@code Summarizer}), though its length is still checked
     * @throws DimensionMismatchException if the row's length differs from earlier rows
     */
    @Override
    public FastFeatureSummary add(double[] values, double weight) {
        if (!startRow(values.length, weight, false)) {
            return this;
        }
        if (seenWeight == null) {
            if (weightSum == 0.0) {
                System.arraycopy(values, 0, shift, 0, values.length);
            }
            if (count <= BLOCK_ROWS) {
                // Welford for the first rows, so the blocks that follow start from a good estimate of the mean even
                // when the very first row is an outlier.
                addWeight(weight);
                final double ratio = weight / weightSum;
                final double[] origin = shift;
                final double[] mu = shiftedMean;
                final double[] var = variance;
                for (int j = 0; j < values.length; j++) {
                    double d = values[j] - origin[j];
                    double delta = d - mu[j];
                    mu[j] += delta * ratio;
                    var[j] += ratio * (delta * (d - mu[j]) - var[j]);
                }
            } else {
                addToBlock(values, weight);
            }
        } else {
            addWeight(weight);
            for (int j = 0; j < values.length; j++) {
                updateFeature(j, values[j], weight);
            }
        }
        return this;
    }

    private void addToBlock(double[] values, double weight) {
        if (blockRows == 0) {
            openBlock();
        }
        final double[] origin = blockOrigin;
        final double[] sum = blockSum;
        final double[] squares = blockSquareSum;
        if (weight == 1.0) {
            for (int j = 0; j < values.length; j++) {
                double d = values[j] - origin[j];
                sum[j] += d;
                squares[j] += d * d;
            }
        } else {
            for (int j = 0; j < values.length; j++) {
                double d = values[j] - origin[j];
                double wd = weight * d;
                sum[j] += wd;
                squares[j] += wd * d;
            }
        }
        blockWeight += weight;
        blockWeightSquare += weight * weight;
        if (++blockRows == BLOCK_ROWS) {
            closeBlock();
        }
    }

    private void openBlock() {
        if (blockOrigin == null) {
            blockOrigin = new double[dimension];
            blockSum = new double[dimension];
            blockSquareSum = new double[dimension];
        }
        for (int j = 0; j < dimension; j++) {
            blockOrigin[j] = shift[j] + shiftedMean[j];
        }
    }

    /**
     * Merges the open block into the running statistics (Chan's formula, in variance form). The block's mean relative to
     * the running mean is {@code (origin - shift - shiftedMean) + sum / weight}; its first term is the rounding of the
     * origin, tiny, and exactly what keeps the double-double mean honest.
     */
    private void closeBlock() {
        if (blockRows == 0) {
            return;
        }
        double wb = blockWeight;
        double total = weightSum + wb;
        double ratioA = weightSum / total;
        double ratioB = wb / total;
        for (int j = 0; j < dimension; j++) {
            double blockMean = blockSum[j] / wb;
            double blockVariance = Math.max(0.0, blockSquareSum[j] / wb - blockMean * blockMean);
            double delta = ((blockOrigin[j] - shift[j]) - shiftedMean[j]) + blockMean;
            shiftedMean[j] += delta * ratioB;
            variance[j] = ratioA * variance[j] + ratioB * blockVariance + (delta * ratioA) * (delta * ratioB);
            blockSum[j] = 0.0;
            blockSquareSum[j] = 0.0;
        }
        weightSum = total;
        weightSquareSum += blockWeightSquare;
        blockWeight = 0.0;
        blockWeightSquare = 0.0;
        blockRows = 0;
    }

    /**
     * Adds a dense row in which NaN and infinite values are missing: each is left out of its own feature's statistics
     * (as scikit-learn's {@code StandardScaler} does with NaN), and the row counts for every other feature.
     */
    @Override
    public FastFeatureSummary addWithMissing(double[] values, double weight) {
        if (!startRow(values.length, weight, true)) {
            return this;
        }
        addWeight(weight);
        for (int j = 0; j < values.length; j++) {
            double x = values[j];
            if (Double.isFinite(x)) {
                updateFeature(j, x, weight);
            } else {
                markMissing(j, weight);
            }
        }
        return this;
    }

    /** Adds a sparse row with weight 1; see {@link #addSparse(int, int[], double[], int, double)}. */
    public FastFeatureSummary addSparse(int size, int[] indices, double[] values) {
        return addSparse(size, indices, values, indices.length, 1.0);
    }

    /**
     * Adds a sparse row: {@code values[k]} is feature {@code indices[k]} for {@code k < stored}; every other feature is zero.
     *
     * @param size the row's number of features
     * @param indices strictly increasing feature indices, each in {@code [0, size)}; only the first {@code stored} are read
     * @param values the stored values; only the first {@code stored} are read
     * @param stored how many entries of {@code indices} and {@code values} belong to this row (buffers may be longer)
     * @param weight the row's weight, finite and {@code >= 0}
     * @throws DimensionMismatchException if {@code size} differs from earlier rows
     */
    @Override
    public FastFeatureSummary addSparse(int size, int[] indices, double[] values, int stored, double weight) {
        return addSparse(size, indices, values, stored, weight, false);
    }

    /** Like {@link #addSparse(int, int[], double[], int, double)}, with NaN and infinite stored values missing. */
    @Override
    public FastFeatureSummary addSparseWithMissing(int size, int[] indices, double[] values, int stored, double weight) {
        return addSparse(size, indices, values, stored, weight, true);
    }

    private FastFeatureSummary addSparse(int size, int[] indices, double[] values, int stored, double weight,
            boolean nonFiniteIsMissing) {
        if (!startRow(size, weight, true, true)) {
            return this;
        }
        addWeight(weight);
        for (int k = 0; k < stored; k++) {
            double x = values[k];
            if (nonFiniteIsMissing && !Double.isFinite(x)) {
                markMissing(slotFor(indices[k]), weight);
            } else if (x != 0.0) {
                updateFeature(slotFor(indices[k]), x, weight);
            }
        }
        return this;
    }

    /**
     * Validates a row and counts it if it carries weight; returns whether it does (rows of weight zero are ignored).
     *
     * @param partial whether the row may leave features out (sparse, or with missing values): per-feature seen weights
     *     and counts are then tracked from here on, starting from the rows before this one, which saw every feature
     */
    private boolean startRow(int size, double weight, boolean partial) {
        return startRow(size, weight, partial, false);
    }

    private boolean startRow(int size, double weight, boolean partial, boolean sparseRow) {
        RowChecks.requireValidWeight(weight);
        ensureDimension(size, sparseRow);
        if (!sparseRow && touchedOnly != null) {
            densify();
        }
        if (weight == 0.0) {
            return false;
        }
        if (partial) {
            materializeSeenWeight();
        }
        count++;
        return true;
    }

    private void addWeight(double weight) {
        weightSum += weight;
        weightSquareSum += weight * weight;
    }

    /** Welford's weighted update of one feature (by slot) whose seen weight is tracked separately. */
    private void updateFeature(int j, double x, double weight) {
        double seen = seenWeight[j];
        if (seen == 0.0) {
            shift[j] = x;
        }
        double total = seen + weight;
        double ratio = weight / total;
        double d = x - shift[j];
        double delta = d - shiftedMean[j];
        shiftedMean[j] += delta * ratio;
        variance[j] += ratio * (delta * (d - shiftedMean[j]) - variance[j]);
        seenWeight[j] = total;
        seenCount[j]++;
    }

    private void markMissing(int j, double weight) {
        ensureMissingArrays();
        missingCount[j]++;
        missingWeight[j] += weight;
        missingWeightSquare[j] += weight * weight;
    }

    private void ensureMissingArrays() {
        if (missingCount == null) {
            int slots = shift.length;
            missingCount = new long[slots];
            missingWeight = new double[slots];
            missingWeightSquare = new double[slots];
        }
    }

    /** Number of slots in use: the dimension in the dense form. */
    private int slotsInUse() {
        return touchedOnly == null ? Math.max(dimension, 0) : touchedOnly.size();
    }

    /** The feature held in slot {@code s}. */
    private int featureOf(int s) {
        return touchedOnly == null ? s : touchedOnly.featureOf(s);
    }

    /** The slot of {@code feature} in this summary's current form, or -1 if the touched-only form does not hold it. */
    private int slotIfPresent(int feature) {
        return touchedOnly == null ? feature : touchedOnly.slotOf(feature);
    }

    /**
     * The slot of {@code feature}, adding an empty one (no value seen) in the touched-only form; may switch this summary
     * to the dense form, so the answer is only valid until the next call.
     */
    private int slotFor(int feature) {
        if (touchedOnly == null) {
            return feature;
        }
        int found = touchedOnly.find(feature);
        if (found >= 0) {
            return found;
        }
        int touched = touchedOnly.size();
        if (touched >= (long) (dimension * denseShare)) {
            densify();
            return feature;
        }
        if (touched == shift.length) {
            resizeSlots(Math.max(INITIAL_SLOTS, touched + (touched >> 1)));
        }
        return touchedOnly.insert(feature, found);
    }

    /**
     * Makes room for {@code slots} slots in the touched-only form at once, so that merging a large summary in neither
     * grows the arrays nor rehashes the table step by step; never beyond the switch to the dense form.
     */
    private void reserveSlots(long slots) {
        if (touchedOnly == null) {
            return;
        }
        int wanted = (int) Math.min(slots, (long) (dimension * denseShare) + 1L);
        if (wanted > shift.length) {
            resizeSlots(wanted);
        }
        touchedOnly.reserve(wanted);
    }

    private void resizeSlots(int slots) {
        shift = Arrays.copyOf(shift, slots);
        shiftedMean = Arrays.copyOf(shiftedMean, slots);
        variance = Arrays.copyOf(variance, slots);
        seenWeight = Arrays.copyOf(seenWeight, slots);
        seenCount = Arrays.copyOf(seenCount, slots);
        if (missingCount != null) {
            missingCount = Arrays.copyOf(missingCount, slots);
            missingWeight = Arrays.copyOf(missingWeight, slots);
            missingWeightSquare = Arrays.copyOf(missingWeightSquare, slots);
        }
    }

    /** Switches the touched-only form to the dense form: an untouched feature is one that has seen nothing. */
    private void densify() {
        if (touchedOnly == null) {
            return;
        }
        double[] denseShift = new double[dimension];
        double[] denseShiftedMean = new double[dimension];
        double[] denseVariance = new double[dimension];
        double[] denseSeenWeight = new double[dimension];
        long[] denseSeenCount = new long[dimension];
        long[] denseMissingCount = missingCount == null ? null : new long[dimension];
        double[] denseMissingWeight = missingCount == null ? null : new double[dimension];
        double[] denseMissingWeightSquare = missingCount == null ? null : new double[dimension];
        for (int s = 0; s < touchedOnly.size(); s++) {
            int j = touchedOnly.featureOf(s);
            denseShift[j] = shift[s];
            denseShiftedMean[j] = shiftedMean[s];
            denseVariance[j] = variance[s];
            denseSeenWeight[j] = seenWeight[s];
            denseSeenCount[j] = seenCount[s];
            if (missingCount != null) {
                denseMissingCount[j] = missingCount[s];
                denseMissingWeight[j] = missingWeight[s];
                denseMissingWeightSquare[j] = missingWeightSquare[s];
            }
        }
        shift = denseShift;
        shiftedMean = denseShiftedMean;
        variance = denseVariance;
        seenWeight = denseSeenWeight;
        seenCount = denseSeenCount;
        missingCount = denseMissingCount;
        missingWeight = denseMissingWeight;
        missingWeightSquare = denseMissingWeightSquare;
        touchedOnly = null;
    }

    /** Whether this summary holds only the features it touched (rather than every feature). */
    boolean isTouchedOnly() {
        return touchedOnly != null;
    }

    /** Features this summary holds per-feature state for: those touched, or every feature in the dense form. */
    int heldFeatures() {
        return slotsInUse();
    }

    /**
     * Merges {@code other} into this summary (this one is mutated, {@code other} is not) so that it summarises the rows of both.
     *
     * @throws DimensionMismatchException if both summaries have rows and their dimensions differ
     */
    @Override
    public FastFeatureSummary merge(FeatureAccumulator accumulator) {
        FastFeatureSummary argument = (FastFeatureSummary) accumulator;
        if (argument.dimension < 0) {
            return this;
        }
        closeBlock();
        // The argument's open block is folded into a copy, so the argument itself is left exactly as it was.
        FastFeatureSummary other = argument.blockRows == 0 ? argument : argument.closedCopy();
        if (dimension >= 0 && dimension != other.dimension) {
            throw new DimensionMismatchException(dimension, other.dimension);
        }
        if (count == 0) {
            copyFrom(other);
            return this;
        }
        boolean mergedBySlot = other.count > 0 && (other.touchedOnly != null || touchedOnly != null);
        if (mergedBySlot) {
            if (other.touchedOnly == null) {
                densify();
            }
            mergeSlots(other);
        } else if (other.count > 0) {
            if (seenWeight == null && other.seenWeight == null) {
                double total = weightSum + other.weightSum;
                double ratioA = weightSum / total;
                double ratioB = other.weightSum / total;
                for (int j = 0; j < dimension; j++) {
                    mergeFeature(other, j, ratioA, ratioB);
                }
            } else {
                double[] seen = materializeSeenWeight();
                for (int j = 0; j < dimension; j++) {
                    double wb = other.seenWeightOf(j);
                    if (wb == 0.0) {
                        continue;
                    }
                    seenCount[j] += other.seenCountOf(j);
                    double wa = seen[j];
                    if (wa == 0.0) {
                        shift[j] = other.shift[j];
                        shiftedMean[j] = other.shiftedMean[j];
                        variance[j] = other.variance[j];
                    } else {
                        double total = wa + wb;
                        mergeFeature(other, j, wa / total, wb / total);
                    }
                    seen[j] = wa + wb;
                }
            }
        }
        if (other.missingCount != null && other.touchedOnly == null && touchedOnly == null && !mergedBySlot) {
            ensureMissingArrays();
            for (int j = 0; j < dimension; j++) {
                missingCount[j] += other.missingCount[j];
                missingWeight[j] += other.missingWeight[j];
                missingWeightSquare[j] += other.missingWeightSquare[j];
            }
        }
        count += other.count;
        weightSum += other.weightSum;
        weightSquareSum += other.weightSquareSum;
        return this;
    }

    /**
     * Merges the per-feature state of {@code other}, whose every slot is visited once: a touched-only {@code other} costs
     * what it holds. Runs the same per-feature arithmetic as the dense merge, so both give the same bits.
     */
    private void mergeSlots(FastFeatureSummary other) {
        materializeSeenWeight();
        int slots = other.slotsInUse();
        reserveSlots((long) slotsInUse() + slots);
        for (int bs = 0; bs < slots; bs++) {
            int j = other.featureOf(bs);
            double wb = other.seenWeightOf(bs);
            boolean otherMissing = other.missingCount != null && other.missingCount[bs] != 0;
            if (wb == 0.0 && !otherMissing) {
                continue;
            }
            int s = slotFor(j);
            if (wb != 0.0) {
                seenCount[s] += other.seenCountOf(bs);
                double wa = seenWeight[s];
                if (wa == 0.0) {
                    shift[s] = other.shift[bs];
                    shiftedMean[s] = other.shiftedMean[bs];
                    variance[s] = other.variance[bs];
                } else {
                    double total = wa + wb;
                    mergeFeature(other, bs, s, wa / total, wb / total);
                }
                seenWeight[s] = wa + wb;
            }
            if (otherMissing) {
                ensureMissingArrays();
                missingCount[s] += other.missingCount[bs];
                missingWeight[s] += other.missingWeight[bs];
                missingWeightSquare[s] += other.missingWeightSquare[bs];
            }
        }
    }

    /**
     * Chan's merge of one feature, in variance form: {@code var = ra*varA + rb*varB + (delta*ra)*(delta*rb)}. The difference of
     * the means is formed as the difference of the shifts (exact when they are close, by Sterbenz's lemma) plus the
     * difference of the shifted means, so large common offsets cancel exactly.
     */
    private void mergeFeature(FastFeatureSummary other, int j, double ratioA, double ratioB) {
        mergeFeature(other, j, j, ratioA, ratioB);
    }

    /** {@link #mergeFeature(FastFeatureSummary, int, double, double)} of {@code other}'s slot {@code bs} into slot {@code s}. */
    private void mergeFeature(FastFeatureSummary other, int bs, int s, double ratioA, double ratioB) {
        double delta = (other.shift[bs] - shift[s]) + (other.shiftedMean[bs] - shiftedMean[s]);
        shiftedMean[s] += delta * ratioB;
        variance[s] = ratioA * variance[s] + ratioB * other.variance[bs] + (delta * ratioA) * (delta * ratioB);
    }

    private double seenWeightOf(int feature) {
        return seenWeight == null ? weightSum : seenWeight[feature];
    }

    private long seenCountOf(int feature) {
        return seenCount == null ? count : seenCount[feature];
    }

    private double[] materializeSeenWeight() {
        closeBlock();
        if (seenWeight == null) {
            seenWeight = new double[dimension];
            Arrays.fill(seenWeight, weightSum);
            seenCount = new long[dimension];
            Arrays.fill(seenCount, count);
        }
        return seenWeight;
    }

    private FastFeatureSummary closedCopy() {
        FastFeatureSummary copy = new FastFeatureSummary(denseShare, denseFromStartUpTo);
        copy.copyFrom(this);
        copy.blockOrigin = blockOrigin.clone();
        copy.blockSum = blockSum.clone();
        copy.blockSquareSum = blockSquareSum.clone();
        copy.blockWeight = blockWeight;
        copy.blockWeightSquare = blockWeightSquare;
        copy.blockRows = blockRows;
        copy.closeBlock();
        return copy;
    }

    /** Copies the running statistics of a summary with no open block. */
    private void copyFrom(FastFeatureSummary other) {
        dimension = other.dimension;
        count = other.count;
        weightSum = other.weightSum;
        weightSquareSum = other.weightSquareSum;
        shift = other.shift.clone();
        shiftedMean = other.shiftedMean.clone();
        variance = other.variance.clone();
        seenWeight = other.seenWeight == null ? null : other.seenWeight.clone();
        seenCount = other.seenCount == null ? null : other.seenCount.clone();
        touchedOnly = other.touchedOnly == null ? null : other.touchedOnly.copy();
        missingCount = other.missingCount == null ? null : other.missingCount.clone();
        missingWeight = other.missingWeight == null ? null : other.missingWeight.clone();
        missingWeightSquare = other.missingWeightSquare == null ? null : other.missingWeightSquare.clone();
    }

    private void ensureDimension(int size, boolean sparseRow) {
        if (!RowChecks.adoptsDimension(dimension, size)) {
            return;
        }
        dimension = size;
        int slots = size;
        if (sparseRow) {
            // Every row so far is this one, so the per-feature seen weights start at zero in either form.
            slots = INITIAL_SLOTS;
            touchedOnly = new FeatureSlots(slots);
            seenWeight = new double[slots];
            seenCount = new long[slots];
        }
        shift = new double[slots];
        shiftedMean = new double[slots];
        variance = new double[slots];
        if (sparseRow && size <= denseFromStartUpTo) {
            densify();
        }
    }

    /** Reads the running statistics and the open block as they are, without closing the block. */
    @Override
    public boolean isFinite() {
        for (int j = 0; j < slotsInUse(); j++) {
            if (!Double.isFinite(shift[j]) || !Double.isFinite(shiftedMean[j]) || !Double.isFinite(variance[j])) {
                return false;
            }
            if (blockRows > 0 && !(Double.isFinite(blockSum[j]) && Double.isFinite(blockSquareSum[j]))) {
                return false;
            }
        }
        return true;
    }

    /** The number of features, or -1 if no row has been added yet. */
    @Override
    public int dimension() {
        return dimension;
    }

    /** The number of rows added with positive weight. */
    @Override
    public long count() {
        return count;
    }

    /** The sum of the row weights; equals {@link #count()} for unweighted rows. */
    public double weightSum() {
        return weightSum + blockWeight;
    }

    /**
     * The fitted statistics of everything added so far, with the zeros that sparse rows left out folded in and missing
     * values left out per feature.
     *
     * @throws IllegalStateException if no row with positive weight has been added
     * @throws NonFiniteStatisticException if a feature's mean or variance is not finite
     * @throws IllegalArgumentException if a feature has no value with positive weight (every one was missing)
     */
    @Override
    public FeatureStatistics toStatistics() {
        closeBlock();
        if (count == 0) {
            throw new IllegalStateException("no rows with positive weight have been summarised");
        }
        return moments().toStatistics();
    }

    /**
     * The exact statistics of {@code base}'s rows and the rows summarised here together, as if one fit had seen both; a
     * feature with no value here (every one missing) keeps {@code base}'s statistics. An empty summary returns
     * {@code base}.
     *
     * @throws IllegalArgumentException if {@code base} is not exact (see {@link FeatureStatistics#merge})
     * @throws DimensionMismatchException if the numbers of features differ
     * @throws NonFiniteStatisticException if a merged mean or variance is not finite
     */
    @Override
    public FeatureStatistics mergeInto(FeatureStatistics base) {
        if (count == 0) {
            return base;
        }
        return base.merge(moments());
    }

    /**
     * {@code base} moved towards the statistics summarised here by an exponential moving average (see
     * {@link FeatureStatistics#movingAverage}); a feature with no value here keeps {@code base}'s running values. An
     * empty summary returns {@code base}.
     */
    @Override
    public FeatureStatistics movingAverageInto(FeatureStatistics base, double momentum, VarianceMode mode) {
        if (count == 0) {
            return base;
        }
        return base.movingAverage(moments(), momentum, mode);
    }

    /**
     * The per-feature moments, zeros folded in; a feature whose every value was missing has weight, mean and variance 0.
     * The touched-only form gives moments of its touched features only (in increasing order), every other feature being
     * zero in every row: the same numbers the dense form gives, without an array per feature.
     */
    FeatureStatistics.Moments moments() {
        closeBlock();
        if (count == 0) {
            throw new IllegalStateException("no rows with positive weight have been summarised");
        }
        int slots = slotsInUse();
        int[] slotOrder = touchedOnly == null ? null : touchedOnly.slotsByFeature();
        int[] storedFeatures = slotOrder == null ? null : new int[slots];
        long[] featureCount = new long[slots];
        double[] featureWeight = new double[slots];
        double[] featureWeightSquare = new double[slots];
        double[] fullMean = new double[slots];
        double[] fullVariance = new double[slots];
        for (int j = 0; j < slots; j++) {
            int s = slotOrder == null ? j : slotOrder[j];
            if (storedFeatures != null) {
                storedFeatures[j] = touchedOnly.featureOf(s);
            }
            fullVariance[j] = variance[s];
            featureCount[j] = count - (missingCount == null ? 0 : missingCount[s]);
            if (featureCount[j] == 0) {
                // Subtracting the missing weight from the total can leave a rounding residue; no value means no weight.
                fullVariance[j] = 0.0;
                featureWeight[j] = 0.0;
                featureWeightSquare[j] = 0.0;
                continue;
            }
            featureWeight[j] = weightSum - (missingWeight == null ? 0.0 : missingWeight[s]);
            featureWeightSquare[j] = weightSquareSum - (missingWeightSquare == null ? 0.0 : missingWeightSquare[s]);
            fullMean[j] = shift[s] + shiftedMean[s];
            if (seenWeight != null) {
                double seen = seenWeight[s];
                double zeros = featureWeight[j] - seen;
                boolean hasZeros = featureCount[j] > seenCount[s];
                if (seen == 0.0) {
                    fullMean[j] = 0.0;
                    fullVariance[j] = 0.0;
                } else if (hasZeros && zeros > 0.0) {
                    // Chan's merge with a block of `zeros` weight at 0 with no spread.
                    double ratioSeen = seen / featureWeight[j];
                    double ratioZeros = zeros / featureWeight[j];
                    double delta = -fullMean[j];
                    fullMean[j] += delta * ratioZeros;
                    fullVariance[j] = ratioSeen * fullVariance[j] + (delta * ratioSeen) * (delta * ratioZeros);
                }
            }
        }
        // An untouched feature saw only zeros: every row's weight, mean 0, variance 0, as the dense form finds.
        return new FeatureStatistics.Moments(count, dimension, storedFeatures, weightSum, weightSquareSum, featureCount,
                featureWeight, featureWeightSquare, fullMean, fullVariance);
    }

    /**
     * Spark ships a task's summary to the driver serialised: the touched-only form writes its slots in use only, and the
     * table is rebuilt from them on reading.
     */
    private void writeObject(ObjectOutputStream out) throws IOException {
        if (touchedOnly != null && shift.length > touchedOnly.size()) {
            resizeSlots(touchedOnly.size());
        }
        out.defaultWriteObject();
    }

    @Override
    public String toString() {
        return "FastFeatureSummary(dimension=" + dimension + ", count=" + count + ", weightSum=" + weightSum + ")";
    }
}
