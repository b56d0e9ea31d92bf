package io.github.batchnorm.stats;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectStreamException;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Arrays;

/**
 * A per-feature summary kept as exact sums: per feature {@code sum w*x} and {@code sum w*x*x}, plus the total weight and
 * squared weight. Nothing is rounded until {@link #toStatistics()}, which derives the mean {@code S1/W} and the population
 * variance {@code (W*S2 - S1^2) / W^2} from the exact sums and rounds each once. Hence:
 * <ul>
 *   <li>the result is the same, bit for bit, however the rows are partitioned, ordered, merged or retried;</li>
 *   <li>mean and variance are correctly rounded, even under heavy cancellation (a large common offset, magnitudes from
 *       1e-8 to 1e8).</li>
 * </ul>
 *
 * <p><b>How it is fast.</b> Adding every value to an integer superaccumulator ({@link ExactSum}) costs several times a
 * plain double sum. Instead each feature collects its values in blocks of at most 256 values, in six plain
 * doubles ("levels"), and adds those to its {@link ExactSum}s once per block. A block has a bound {@code B = 2^k}, a power
 * of two above its values. Each value is cut exactly onto fixed grids below {@code B} by Rump's extraction
 * ({@code a = (x + s) - s}, with {@code s = 1.5 * 2^(k+7)}): {@code x} on two levels, its square {@code p = x*x} on two,
 * and the square's rounding error {@code e = fma(x, x, -p)} on two. Every part on a level is a multiple of that level's
 * grid and small enough that 256 of them add up exactly in a double. When every value of a block lies within 2^19 of its
 * bound, one extraction per part suffices and the remainders are exact on the second levels by construction; otherwise a
 * second extraction is made and whatever it leaves (the last bits of values much smaller than {@code B}) is added to the
 * {@link ExactSum}s directly, and so is every value outside [2^-400, 2^300] and every value of a weighted row: slower,
 * still exact.
 *
 * <p>Dense rows of weight 1 wait in a buffer of one block of rows: with the block at hand, each feature's bound is the
 * power of two above its largest value, three small per-row loops (which the JIT vectorises) fill the levels, and a
 * feature whose block the grids cannot take is redone from the buffer. Because of the buffer, a non-finite value in such
 * a row is reported when its block is added (at the latest when the summary is read, merged or serialised). Sparse rows
 * cost O(non-zeros): each value goes to its feature's open block, whose bound is a few binades above the value that opened
 * it and grows when a larger value arrives. The features' exact sums live in two arenas ({@link ExactSums}), not in an
 * object per feature, so that a summary of a million features is a few arrays whatever it holds. Merging copies into an
 * empty summary array by array, and takes over an argument's open block (or adds its levels, when both blocks share a
 * bound and hold at most a block's worth of values together), so that the blocks of sparse features, most of which see a
 * few values per task, reach the exact sums only when serialised. Serialised (Java serialization, as Spark ships task
 * results), the summary writes each touched feature's sums in their shortest exact form: a few dozen bytes per feature. The statistics are
 * finalised in double-double arithmetic when its error bound proves the rounding, with exact big-integer arithmetic as
 * the fallback: the same bits either way.
 *
 * <p>The exact error of a square needs {@link Math#fma}; on a CPU without FMA the JVM emulates it in software, correctly
 * but slowly, and {@code HARDWARE_FMA} switches to Dekker's exact product instead.
 *
 * <p><b>Touched-only form.</b> As {@link FastFeatureSummary} does, a summary of more than
 * {@link FastFeatureSummary#DENSE_FROM_START_UP_TO} features whose first row is sparse holds only the features it has
 * seen (a value or a missing value), in slots found through an open-addressing table, and switches to the dense form,
 * once and for good, when it touches more than one feature in {@link FastFeatureSummary#DENSE_FROM_SHARE} or is given a
 * dense row. The implicit zeros of sparse rows add nothing to the sums, so a feature never touched has mean and variance 0
 * and every row's weight, which {@link #moments()} states once for all of them. The sums are exact, so the form never
 * shows in the statistics: both give the same bits. Merging costs what the argument holds.
 *
 * <p>Mutable; {@link #merge} never changes its argument. Not thread-safe.
 */
public final class ExactFeatureSummary implements FeatureAccumulator {
    private static final long serialVersionUID = 3L;

    /** Values per block: 256 parts of at most {@code B} stay exact in a double whose grid is {@code B * 2^-45}. */
    static final int BLOCK = 256;
    /** A new bound is this many binades above the value that opens the block, so later values rarely exceed it. */
    private static final int MARGIN_BINADES = 3;
    /** Values outside [SMALLEST, LARGEST] skip the blocks: their squares or square errors would leave the normal range. */
    private static final double SMALLEST = 0x1p-400;
    private static final double LARGEST = 0x1p300;
    /** Level shifts relative to the bound B (for x) or B^2 (for squares); see the class comment. */
    private static final double SHIFT_1 = 0x1.8p7;
    /** A block whose every magnitude is at least its bound times this needs no check of what the levels leave. */
    private static final double NARROW = 0x1p-19;
    /** Rows of fewer features than this are added feature by feature ({@link #addNarrowColumn}), not row by row. */
    private static final int NARROW_ROWS_BY_FEATURE = 32;
    private static final double SHIFT_2 = 0x1.8p-39;
    private static final double ERROR_SHIFT_1 = 0x1.8p-46;
    private static final double ERROR_SHIFT_2 = 0x1.8p-92;
    /** At most this many values wait in {@link #rows}: 256 rows up to 4,096 features, fewer rows above. */
    private static final int BUFFERED_VALUES = 1 << 20;

    /**
     * Whether {@link Math#fma} runs in hardware. The JVM uses the FMA instruction when its {@code UseFMA} flag is on
     * (HotSpot sets it from the CPU's features); without it, {@code Math.fma} is computed with BigDecimal.
     */
    static final boolean HARDWARE_FMA = FmaSupport.detect();

    /** Slots a touched-only summary starts with. */
    private static final int INITIAL_SLOTS = 16;

    private int dimension = -1;
    private long count;
    /**
     * The touched-only form's features and their slots; null in the dense form, where a feature's slot is its index.
     * Every per-feature array below is indexed by slot.
     */
    private FeatureSlots touchedOnly;
    /** The share of the features above which the touched-only form becomes dense (1: never, 0: at once). */
    private final double denseShare;
    /** The largest dimension at which a sparse first row starts the dense form (0: a sparse first row never does). */
    private final int denseFromStartUpTo;
    /** Rows of weight 1 (their weight and squared weight, kept as a count), and the exact sums of the other weights. */
    private long unitRows;
    private ExactSum weightSum = new ExactSum();
    private ExactSum weightSquareSum = new ExactSum();
    /** Per-feature exact sums, in two arenas: a slot holds none until its feature flushes a non-zero block. */
    private ExactSums sum;
    private ExactSums squareSum;
    /** Per-feature bound of the open block (a power of two), 0 while the feature has none; and its inverse. */
    private double[] bound;
    private double[] inverseBound;
    /**
     * The open blocks' levels, one array per level: x on two ({@code x1}, {@code x2}), the square on two, the square's
     * error on two. Separate arrays, so the JIT sees that the dense loops' stores cannot overlap and vectorises them.
     */
    private double[] x1;
    private double[] x2;
    private double[] p1;
    private double[] p2;
    private double[] e1;
    private double[] e2;
    /**
     * Dense rows of weight 1 wait here, row after row, until a block of them is added ({@link #addBufferedRows}): with
     * the whole block at hand, each feature's bound comes from its largest value in the block, and a feature whose block
     * the levels cannot hold exactly is redone from the buffer the slow way.
     */
    private double[][] rows;
    private int bufferedRows;
    /** Per feature, the largest magnitude among the buffered rows (NaN or infinite if a value is), and the smallest. */
    private double[] bufferedMax;
    private double[] bufferedMin;
    /** Scratch of {@link #addBufferedRows}, kept so that narrow blocks of wide rows allocate nothing. */
    private double[] blockBound;
    private double[] blockBoundSquare;
    private double[] blockLeft;
    /** Values in each feature's open block (sparse rows, dense rows with missing values). */
    private int[] blockCount;
    /** Per-feature count, weight and squared weight of missing values; null until the first missing value. */
    private long[] missingCount;
    private ExactSum[] missingWeight;
    private ExactSum[] missingWeightSquare;

    /** Creates an empty summary; its dimension is set by the first row or merge. */
    public ExactFeatureSummary() {
        this(1.0 / FastFeatureSummary.DENSE_FROM_SHARE, FastFeatureSummary.DENSE_FROM_START_UP_TO);
    }

    private ExactFeatureSummary(double denseShare, int denseFromStartUpTo) {
        this.denseShare = denseShare;
        this.denseFromStartUpTo = denseFromStartUpTo;
    }

    /**
     * An empty summary whose touched-only form becomes dense above {@code share} of the features, whatever the
     * dimension: 1 keeps it until a dense row or merge arrives, 0 makes every summary dense from its first row.
     */
    static ExactFeatureSummary withDenseShare(double share) {
        return new ExactFeatureSummary(share, 0);
    }

    @Override
    public ExactFeatureSummary add(double[] values, double weight) {
        if (!startRow(values.length, weight, false)) {
            return this;
        }
        if (weight != 1.0) {
            for (int j = 0; j < values.length; j++) {
                addWeighted(j, values[j], weight);
            }
            return this;
        }
        bufferRow(values, 0, values.length);
        return this;
    }

    @Override
    public ExactFeatureSummary addWithMissing(double[] values, double weight) {
        if (startRow(values.length, weight, false)) {
            for (int j = 0; j < values.length; j++) {
                if (Double.isFinite(values[j])) {
                    addValue(j, values[j], weight);
                } else {
                    markMissing(j, weight);
                }
            }
        }
        return this;
    }

    @Override
    public ExactFeatureSummary addSparse(int size, int[] indices, double[] values, int stored, double weight) {
        if (startRow(size, weight, true)) {
            for (int k = 0; k < stored; k++) {
                double x = values[k];
                if (x != 0.0) {
                    // A stored zero adds nothing to the sums, so it does not touch its feature either.
                    addValue(slotFor(indices[k]), x, weight);
                }
            }
        }
        return this;
    }

    @Override
    public ExactFeatureSummary addSparseWithMissing(int size, int[] indices, double[] values, int stored,
            double weight) {
        if (startRow(size, weight, true)) {
            for (int k = 0; k < stored; k++) {
                double x = values[k];
                if (!Double.isFinite(x)) {
                    markMissing(slotFor(indices[k]), weight);
                } else if (x != 0.0) {
                    addValue(slotFor(indices[k]), x, weight);
                }
            }
        }
        return this;
    }

    private boolean startRow(int size, double weight, boolean sparseRow) {
        RowChecks.requireValidWeight(weight);
        if (RowChecks.adoptsDimension(dimension, size)) {
            if (sparseRow && size > denseFromStartUpTo) {
                allocateTouchedOnly(size);
            } else {
                allocate(size);
            }
        } else if (!sparseRow) {
            densify();
        }
        if (weight == 0.0) {
            return false;
        }
        count++;
        if (weight == 1.0) {
            unitRows++;
        } else {
            weightSum.add(weight);
            weightSquareSum.addSquare(weight);
        }
        return true;
    }

    /** Sets the dimension and allocates the dense form's per-feature arrays. */
    private void allocate(int size) {
        dimension = size;
        allocateSlots(size);
    }

    /** Sets the dimension and starts the touched-only form with room for a few features. */
    private void allocateTouchedOnly(int size) {
        dimension = size;
        allocateSlots(INITIAL_SLOTS);
        touchedOnly = new FeatureSlots(INITIAL_SLOTS);
    }

    private void allocateSlots(int slots) {
        sum = new ExactSums(slots);
        squareSum = new ExactSums(slots);
        bound = new double[slots];
        inverseBound = new double[slots];
        // No open block: the dense row's check fails (0 * infinity is NaN) and its values go one by one.
        Arrays.fill(inverseBound, Double.POSITIVE_INFINITY);
        x1 = new double[slots];
        x2 = new double[slots];
        p1 = new double[slots];
        p2 = new double[slots];
        e1 = new double[slots];
        e2 = new double[slots];
        blockCount = new int[slots];
    }

    /** Number of slots in use: the dimension in the dense form. */
    private int slotsInUse() {
        return touchedOnly == null ? Math.max(dimension, 0) : touchedOnly.size();
    }

    /** The feature held in slot {@code s}. */
    private int featureOf(int s) {
        return touchedOnly == null ? s : touchedOnly.featureOf(s);
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
     * The slot of {@code feature}, adding an empty one in the touched-only form; may switch this summary to the dense
     * form, so the answer is only valid until the next call.
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
        if (touched == bound.length) {
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
        if (wanted > bound.length) {
            resizeSlots(wanted);
        }
        touchedOnly.reserve(wanted);
    }

    private void resizeSlots(int slots) {
        int old = bound.length;
        sum.resize(slots);
        squareSum.resize(slots);
        bound = Arrays.copyOf(bound, slots);
        inverseBound = Arrays.copyOf(inverseBound, slots);
        if (slots > old) {
            Arrays.fill(inverseBound, old, slots, Double.POSITIVE_INFINITY);
        }
        x1 = Arrays.copyOf(x1, slots);
        x2 = Arrays.copyOf(x2, slots);
        p1 = Arrays.copyOf(p1, slots);
        p2 = Arrays.copyOf(p2, slots);
        e1 = Arrays.copyOf(e1, slots);
        e2 = Arrays.copyOf(e2, slots);
        blockCount = Arrays.copyOf(blockCount, slots);
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
        ExactSums slotSum = sum;
        ExactSums slotSquareSum = squareSum;
        double[] slotBound = bound;
        double[] slotInverseBound = inverseBound;
        double[][] slotLevels = {x1, x2, p1, p2, e1, e2};
        int[] slotBlockCount = blockCount;
        long[] slotMissingCount = missingCount;
        ExactSum[] slotMissingWeight = missingWeight;
        ExactSum[] slotMissingWeightSquare = missingWeightSquare;
        allocateSlots(dimension);
        // The sums stay where they are in their arenas; only their slots change.
        slotSum.spreadTo(dimension, touchedOnly);
        slotSquareSum.spreadTo(dimension, touchedOnly);
        sum = slotSum;
        squareSum = slotSquareSum;
        double[][] levels = {x1, x2, p1, p2, e1, e2};
        if (slotMissingCount != null) {
            missingCount = new long[dimension];
            missingWeight = new ExactSum[dimension];
            missingWeightSquare = new ExactSum[dimension];
        }
        for (int s = 0; s < touchedOnly.size(); s++) {
            int j = touchedOnly.featureOf(s);
            bound[j] = slotBound[s];
            inverseBound[j] = slotInverseBound[s];
            for (int level = 0; level < levels.length; level++) {
                levels[level][j] = slotLevels[level][s];
            }
            blockCount[j] = slotBlockCount[s];
            if (slotMissingCount != null) {
                missingCount[j] = slotMissingCount[s];
                missingWeight[j] = slotMissingWeight[s];
                missingWeightSquare[j] = slotMissingWeightSquare[s];
            }
        }
        touchedOnly = null;
    }

    private void addValue(int j, double x, double weight) {
        if (weight == 1.0) {
            addUnit(j, x);
        } else {
            addWeighted(j, x, weight);
        }
    }

    /** Copies a dense row of weight 1 (already counted) into the buffer; a full buffer is added as a block. */
    private void bufferRow(double[] source, int offset, int d) {
        if (rows == null) {
            rows = new double[Math.max(1, Math.min(BLOCK, BUFFERED_VALUES / Math.max(1, d)))][];
            bufferedMax = new double[d];
            bufferedMin = new double[d];
            Arrays.fill(bufferedMin, Double.POSITIVE_INFINITY);
        }
        double[] row = rows[bufferedRows];
        if (row == null) {
            row = new double[d];
            rows[bufferedRows] = row;
        }
        System.arraycopy(source, offset, row, 0, d);
        final double[] max = bufferedMax;
        final double[] min = bufferedMin;
        for (int j = 0; j < d; j++) {
            double magnitude = Math.abs(row[j]);
            max[j] = Math.max(max[j], magnitude);
            min[j] = Math.min(min[j], magnitude);
        }
        if (++bufferedRows == rows.length) {
            addBufferedRows();
        }
    }

    /**
     * Adds the buffered dense rows as one block per feature. Each feature's bound is the power of two just above its
     * largest buffered magnitude; then three loops per row (x, its square, the square's error: small loops, which the JIT
     * unrolls and vectorises, where one large loop would stay scalar) add every value's parts to the levels and sum the
     * magnitudes of what is left below the last level. A feature with something left, or with a value the levels cannot
     * take at all (non-finite, beyond 2^300, or all below 2^-400), is finished from the buffer the slow, exact way.
     */
    private void addBufferedRows() {
        final int n = bufferedRows;
        if (n == 0) {
            return;
        }
        bufferedRows = 0;
        flushAll();
        final int d = dimension;
        if (blockBound == null) {
            blockBound = new double[d];
            blockBoundSquare = new double[d];
            blockLeft = new double[d];
        }
        final double[] b = blockBound;
        final double[] b2 = blockBoundSquare;
        boolean narrow = true;
        for (int j = 0; j < d; j++) {
            double m = bufferedMax[j];
            if (m >= SMALLEST && m <= LARGEST) {
                b[j] = Math.scalb(1.0, Math.getExponent(m) + 1);
            } else if (m == 0.0) {
                b[j] = 1.0;
            } else {
                b[j] = Double.NaN; // finished the slow way; NaN keeps its levels from mattering
            }
            b2[j] = b[j] * b[j];
            narrow &= bufferedMin[j] >= b[j] * NARROW;
            bufferedMin[j] = Double.POSITIVE_INFINITY;
        }
        final double[] left = blockLeft;
        Arrays.fill(left, 0.0);
        final double[][] buffer = rows;
        if (narrow && d < NARROW_ROWS_BY_FEATURE) {
            for (int j = 0; j < d; j++) {
                addNarrowColumn(buffer, n, j, b[j], b2[j]);
            }
        } else if (narrow) {
            for (int r = 0; r < n; r++) {
                addNarrowToLevels(buffer[r], b, b2);
            }
        } else {
            for (int r = 0; r < n; r++) {
                addToLevels(buffer[r], b, b2, left);
            }
        }
        for (int j = 0; j < d; j++) {
            bufferedMax[j] = 0.0;
            if (left[j] == 0.0) {
                continue;
            }
            if (Double.isNaN(b[j])) {
                x1[j] = 0.0;
                x2[j] = 0.0;
                p1[j] = 0.0;
                p2[j] = 0.0;
                e1[j] = 0.0;
                e2[j] = 0.0;
                for (int r = 0; r < n; r++) {
                    addDirect(j, buffer[r][j]);
                }
            } else {
                for (int r = 0; r < n; r++) {
                    addRemainders(j, buffer[r][j], b[j]);
                }
            }
        }
        flushAll();
    }

    /**
     * {@link #addNarrowToLevels} for one feature over the block's rows: for rows of a few features, where loops over the
     * features are too short to gain from vectorising and their set-up costs more than the work, six independent scalar
     * sums per feature run at the processor's full width.
     */
    private void addNarrowColumn(double[][] buffer, int n, int j, double bx, double bp) {
        final double shiftX = bx * SHIFT_1;
        final double shiftP = bp * SHIFT_1;
        final double shiftE = bp * ERROR_SHIFT_1;
        double sx1 = 0.0;
        double sx2 = 0.0;
        double sp1 = 0.0;
        double sp2 = 0.0;
        double se1 = 0.0;
        double se2 = 0.0;
        for (int r = 0; r < n; r++) {
            double x = buffer[r][j];
            double a = (x + shiftX) - shiftX;
            sx1 += a;
            sx2 += x - a;
            double p = x * x;
            double e = HARDWARE_FMA ? Math.fma(x, x, -p) : FmaSupport.squareError(x, p);
            a = (p + shiftP) - shiftP;
            sp1 += a;
            sp2 += p - a;
            a = (e + shiftE) - shiftE;
            se1 += a;
            se2 += e - a;
        }
        // The levels are empty here (the block started with a flush), and the sums of at most 256 parts are exact.
        x1[j] += sx1;
        x2[j] += sx2;
        p1[j] += sp1;
        p2[j] += sp2;
        e1[j] += se1;
        e2[j] += se2;
    }

    /**
     * Adds one buffered row's parts to the levels when every feature's values in the block are within 2^19 of its bound
     * ({@link #NARROW}): then x's remainder after one extraction is a multiple of {@code ulp(x) >= B * 2^-71} and at most
     * {@code B * 2^-46}, so 256 of them sum exactly on the second level without a second extraction; likewise the
     * square's remainder (a multiple of {@code B^2 * 2^-90}) and the error's remainder (of {@code ulp(x)^2 >= B^2 *
     * 2^-142}, at most {@code B^2 * 2^-99}). Nothing is left over, so nothing is checked: half the work of
     * {@link #addToLevels}.
     */
    private void addNarrowToLevels(double[] row, double[] b, double[] b2) {
        final int d = row.length;
        final double[] ax1 = x1;
        final double[] ax2 = x2;
        final double[] ap1 = p1;
        final double[] ap2 = p2;
        final double[] ae1 = e1;
        final double[] ae2 = e2;
        for (int j = 0; j < d; j++) {
            double x = row[j];
            double s = b[j] * SHIFT_1;
            double a = (x + s) - s;
            ax1[j] += a;
            ax2[j] += x - a;
        }
        for (int j = 0; j < d; j++) {
            double x = row[j];
            double p = x * x;
            double s = b2[j] * SHIFT_1;
            double a = (p + s) - s;
            ap1[j] += a;
            ap2[j] += p - a;
        }
        if (HARDWARE_FMA) {
            for (int j = 0; j < d; j++) {
                double x = row[j];
                double e = Math.fma(x, x, -(x * x));
                double s = b2[j] * ERROR_SHIFT_1;
                double a = (e + s) - s;
                ae1[j] += a;
                ae2[j] += e - a;
            }
        } else {
            for (int j = 0; j < d; j++) {
                double x = row[j];
                double e = FmaSupport.squareError(x, x * x);
                double s = b2[j] * ERROR_SHIFT_1;
                double a = (e + s) - s;
                ae1[j] += a;
                ae2[j] += e - a;
            }
        }
    }

    /**
     * Adds one buffered row's parts to the levels. A method of its own, called per row, so that the JIT compiles its small
     * loops as such (unrolled and vectorised) rather than as part of a long-running loop over the block.
     */
    private void addToLevels(double[] row, double[] b, double[] b2, double[] left) {
        final int d = row.length;
        final double[] ax1 = x1;
        final double[] ax2 = x2;
        final double[] ap1 = p1;
        final double[] ap2 = p2;
        final double[] ae1 = e1;
        final double[] ae2 = e2;
        for (int j = 0; j < d; j++) {
            double x = row[j];
            double s = b[j] * SHIFT_1;
            double a = (x + s) - s;
            double rest = x - a;
            s = b[j] * SHIFT_2;
            double a2 = (rest + s) - s;
            ax1[j] += a;
            ax2[j] += a2;
            left[j] += Math.abs(rest - a2);
        }
        for (int j = 0; j < d; j++) {
            double x = row[j];
            double p = x * x;
            double s = b2[j] * SHIFT_1;
            double a = (p + s) - s;
            double rest = p - a;
            s = b2[j] * SHIFT_2;
            double a2 = (rest + s) - s;
            ap1[j] += a;
            ap2[j] += a2;
            left[j] += Math.abs(rest - a2);
        }
        if (HARDWARE_FMA) {
            for (int j = 0; j < d; j++) {
                double x = row[j];
                double e = Math.fma(x, x, -(x * x));
                double s = b2[j] * ERROR_SHIFT_1;
                double a = (e + s) - s;
                double rest = e - a;
                s = b2[j] * ERROR_SHIFT_2;
                double a2 = (rest + s) - s;
                ae1[j] += a;
                ae2[j] += a2;
                left[j] += Math.abs(rest - a2);
            }
        } else {
            for (int j = 0; j < d; j++) {
                double x = row[j];
                double e = FmaSupport.squareError(x, x * x);
                double s = b2[j] * ERROR_SHIFT_1;
                double a = (e + s) - s;
                double rest = e - a;
                s = b2[j] * ERROR_SHIFT_2;
                double a2 = (rest + s) - s;
                ae1[j] += a;
                ae2[j] += a2;
                left[j] += Math.abs(rest - a2);
            }
        }
    }

    /** Adds {@code x} and its square to feature {@code j}'s exact sums directly. */
    private void addDirect(int j, double x) {
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException("feature " + featureOf(j) + " has a non-finite value " + x);
        }
        if (x != 0.0) {
            sumOf(j).add(x);
            squareSumOf(j).addSquare(x);
        }
    }

    /** Recomputes what the levels of a block with bound {@code bx} left of {@code x}, and adds it exactly. */
    private void addRemainders(int j, double x, double bx) {
        double bp = bx * bx;
        double r = x - extract(x, bx * SHIFT_1);
        double rx = r - extract(r, bx * SHIFT_2);
        double p = x * x;
        double e = HARDWARE_FMA ? Math.fma(x, x, -p) : FmaSupport.squareError(x, p);
        r = p - extract(p, bp * SHIFT_1);
        double rp = r - extract(r, bp * SHIFT_2);
        r = e - extract(e, bp * ERROR_SHIFT_1);
        double re = r - extract(r, bp * ERROR_SHIFT_2);
        addRemainders(j, x, p, e, rx, rp, re);
    }

    private static double extract(double x, double shift) {
        return (x + shift) - shift;
    }

    /**
     * Adds a value's remainders below the last level. The levels hold exactly {@code x - rx} and {@code p + e - rp - re}
     * (extraction loses nothing), and {@code p + e} is {@code x * x} unless the square's error fell below the subnormal
     * range, which only a value below {@link #SMALLEST} can make happen: then the exact square replaces {@code p + e}.
     */
    private void addRemainders(int j, double x, double p, double e, double rx, double rp, double re) {
        if (rx == 0.0 && rp == 0.0 && re == 0.0) {
            return;
        }
        sumOf(j).add(rx);
        ExactAdder squares = squareSumOf(j);
        squares.add(rp);
        squares.add(re);
        if (Math.abs(x) < SMALLEST) {
            squares.addSquare(x);
            squares.add(-p);
            squares.add(-e);
        }
    }

    /** Adds one value of weight 1 to its feature's block. */
    private void addUnit(int j, double x) {
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException("feature " + featureOf(j) + " has a non-finite value " + x);
        }
        double ax = Math.abs(x);
        double bx = bound[j];
        if (!(ax < bx)) {
            if (ax > LARGEST || (ax < SMALLEST && ax != 0.0 && bx == 0.0)) {
                sumOf(j).add(x);
                squareSumOf(j).addSquare(x);
                return;
            }
            openBlock(j, ax);
            bx = bound[j];
        }
        if (blockCount[j] >= BLOCK) {
            flush(j);
        }
        blockCount[j]++;
        double bp = bx * bx;
        if (ax >= bx * NARROW) {
            // As in addNarrowToLevels: one extraction per part, the remainders exact on the second levels.
            double a = extract(x, bx * SHIFT_1);
            x1[j] += a;
            x2[j] += x - a;
            double p = x * x;
            a = extract(p, bp * SHIFT_1);
            p1[j] += a;
            p2[j] += p - a;
            double e = HARDWARE_FMA ? Math.fma(x, x, -p) : FmaSupport.squareError(x, p);
            a = extract(e, bp * ERROR_SHIFT_1);
            e1[j] += a;
            e2[j] += e - a;
            return;
        }
        double a = extract(x, bx * SHIFT_1);
        double r = x - a;
        double a2 = extract(r, bx * SHIFT_2);
        double rx = r - a2;
        x1[j] += a;
        x2[j] += a2;
        double p = x * x;
        double e = HARDWARE_FMA ? Math.fma(x, x, -p) : FmaSupport.squareError(x, p);
        a = extract(p, bp * SHIFT_1);
        r = p - a;
        a2 = extract(r, bp * SHIFT_2);
        double rp = r - a2;
        p1[j] += a;
        p2[j] += a2;
        a = extract(e, bp * ERROR_SHIFT_1);
        r = e - a;
        a2 = extract(r, bp * ERROR_SHIFT_2);
        double re = r - a2;
        e1[j] += a;
        e2[j] += a2;
        addRemainders(j, x, p, e, rx, rp, re);
    }

    /**
     * Closes feature {@code j}'s block and opens one whose bound is a few binades above {@code magnitude} (or 1 for a
     * zero, which any bound holds).
     */
    private void openBlock(int j, double magnitude) {
        flush(j);
        double newBound = magnitude == 0.0 ? 1.0
                : Math.scalb(1.0, Math.max(Math.getExponent(magnitude), Math.getExponent(SMALLEST)) + 1 + MARGIN_BINADES);
        bound[j] = Math.max(bound[j], newBound);
        inverseBound[j] = 1.0 / bound[j];
    }

    /** Adds {@code weight * x} and {@code weight * x * x} exactly, without the blocks. */
    private void addWeighted(int j, double x, double weight) {
        if (x == 0.0) {
            return;
        }
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException("feature " + featureOf(j) + " has a non-finite value " + x);
        }
        sumOf(j).addProduct(weight, x);
        squareSumOf(j).addWeightedSquare(weight, x);
    }

    /** Feature {@code j}'s exact sum of values, to add to (until the next call). */
    private ExactAdder sumOf(int j) {
        return sum.slot(j);
    }

    /** Feature {@code j}'s exact sum of squares, to add to (until the next call). */
    private ExactAdder squareSumOf(int j) {
        return squareSum.slot(j);
    }

    /** Moves feature {@code j}'s open block into its exact sums and empties it (its bound stays). */
    private void flush(int j) {
        if (x1[j] != 0.0 || x2[j] != 0.0) {
            ExactAdder s = sumOf(j);
            s.add(x1[j]);
            s.add(x2[j]);
            x1[j] = 0.0;
            x2[j] = 0.0;
        }
        if (p1[j] != 0.0 || p2[j] != 0.0 || e1[j] != 0.0 || e2[j] != 0.0) {
            ExactAdder s = squareSumOf(j);
            s.add(p1[j]);
            s.add(p2[j]);
            s.add(e1[j]);
            s.add(e2[j]);
            p1[j] = 0.0;
            p2[j] = 0.0;
            e1[j] = 0.0;
            e2[j] = 0.0;
        }
        blockCount[j] = 0;
    }

    private void flushAll() {
        int slots = slotsInUse();
        for (int j = 0; j < slots; j++) {
            flush(j);
        }
    }

    private void markMissing(int j, double weight) {
        ensureMissingArrays();
        missingCount[j]++;
        if (missingWeight[j] == null) {
            missingWeight[j] = new ExactSum();
            missingWeightSquare[j] = new ExactSum();
        }
        missingWeight[j].add(weight);
        missingWeightSquare[j].addSquare(weight);
    }

    private void ensureMissingArrays() {
        if (missingCount == null) {
            int slots = bound.length;
            missingCount = new long[slots];
            missingWeight = new ExactSum[slots];
            missingWeightSquare = new ExactSum[slots];
        }
    }

    @Override
    public ExactFeatureSummary merge(FeatureAccumulator accumulator) {
        ExactFeatureSummary other = (ExactFeatureSummary) accumulator;
        if (other.dimension < 0) {
            return this;
        }
        if (dimension < 0) {
            // An empty summary (Spark's zero value, into which each task and the driver merge first) becomes a copy
            // of the argument, array by array, at the cost of copying memory rather than of a merge per feature.
            copyOf(other);
            return this;
        }
        if (dimension != other.dimension) {
            throw new DimensionMismatchException(dimension, other.dimension);
        }
        count += other.count;
        unitRows += other.unitRows;
        weightSum.merge(other.weightSum);
        weightSquareSum.merge(other.weightSquareSum);
        if (other.touchedOnly == null) {
            densify();
        } else {
            reserveSlots((long) slotsInUse() + other.slotsInUse());
        }
        if (sum.allocatedWords() == 0 && squareSum.allocatedWords() == 0) {
            // Into an empty summary (a task's first merge, the driver's first result): the arenas grow once.
            sum.reserveWords(other.sum.allocatedWords());
            squareSum.reserveWords(other.squareSum.allocatedWords());
        }
        int otherSlots = other.slotsInUse();
        for (int bs = 0; bs < otherSlots; bs++) {
            boolean otherMissing = other.missingCount != null && other.missingCount[bs] != 0;
            if (!other.sum.has(bs) && !other.squareSum.has(bs) && other.bound[bs] == 0.0 && !otherMissing) {
                continue;
            }
            // slotFor may switch this summary to the dense form, where the slot is the feature.
            int s = slotFor(other.featureOf(bs));
            mergeFeature(other, bs, s);
            if (otherMissing) {
                ensureMissingArrays();
                missingCount[s] += other.missingCount[bs];
                missingWeight[s] = mergedSum(missingWeight[s], other.missingWeight[bs]);
                missingWeightSquare[s] = mergedSum(missingWeightSquare[s], other.missingWeightSquare[bs]);
            }
        }
        // The argument's buffered rows (of the dense form only) are added here as rows; its count already includes them.
        for (int r = 0; r < other.bufferedRows; r++) {
            bufferRow(other.rows[r], 0, dimension);
        }
        return this;
    }

    /**
     * Makes this empty summary a copy of {@code other}, in its form: a touched-only argument stays cheap to merge into
     * it, unless it holds more features than this summary's own switch allows.
     */
    private void copyOf(ExactFeatureSummary other) {
        dimension = other.dimension;
        count = other.count;
        unitRows = other.unitRows;
        weightSum = other.weightSum.copy();
        weightSquareSum = other.weightSquareSum.copy();
        touchedOnly = other.touchedOnly == null ? null : other.touchedOnly.copy();
        sum = other.sum.copy();
        squareSum = other.squareSum.copy();
        bound = other.bound.clone();
        inverseBound = other.inverseBound.clone();
        x1 = other.x1.clone();
        x2 = other.x2.clone();
        p1 = other.p1.clone();
        p2 = other.p2.clone();
        e1 = other.e1.clone();
        e2 = other.e2.clone();
        blockCount = other.blockCount.clone();
        if (other.missingCount != null) {
            missingCount = other.missingCount.clone();
            missingWeight = new ExactSum[other.missingWeight.length];
            missingWeightSquare = new ExactSum[other.missingWeightSquare.length];
            for (int s = 0; s < missingWeight.length; s++) {
                if (other.missingWeight[s] != null) {
                    missingWeight[s] = other.missingWeight[s].copy();
                    missingWeightSquare[s] = other.missingWeightSquare[s].copy();
                }
            }
        }
        if (touchedOnly != null && touchedOnly.size() > (long) (dimension * denseShare)) {
            densify();
        }
        // The argument's buffered rows (of the dense form only) are added here as rows; its count already includes them.
        for (int r = 0; r < other.bufferedRows; r++) {
            bufferRow(other.rows[r], 0, dimension);
        }
    }

    /** Adds the exact sums and the open block of {@code other}'s slot {@code bs} to slot {@code s}. */
    private void mergeFeature(ExactFeatureSummary other, int bs, int s) {
        sum.merge(s, other.sum, bs);
        squareSum.merge(s, other.squareSum, bs);
        if (other.bound[bs] == 0.0) {
            return;
        }
        if (blockCount[s] == 0) {
            // Nothing in this slot's block (its levels are zero): the argument's open block is taken over as it is,
            // bound, grids and all.
            bound[s] = other.bound[bs];
            inverseBound[s] = other.inverseBound[bs];
            blockCount[s] = other.blockCount[bs];
            addLevels(other, bs, s);
            return;
        }
        if (bound[s] == other.bound[bs] && blockCount[s] + other.blockCount[bs] <= BLOCK) {
            // Parts of the same grids, no more than a block's worth in all: the levels add up exactly, as if the
            // argument's values had come here.
            blockCount[s] += other.blockCount[bs];
            addLevels(other, bs, s);
            return;
        }
        // The argument's open block is added to the exact sums, level by level: it stays as it was.
        if (other.x1[bs] != 0.0 || other.x2[bs] != 0.0) {
            ExactAdder sumOfSlot = sumOf(s);
            sumOfSlot.add(other.x1[bs]);
            sumOfSlot.add(other.x2[bs]);
        }
        if (other.p1[bs] != 0.0 || other.p2[bs] != 0.0 || other.e1[bs] != 0.0 || other.e2[bs] != 0.0) {
            ExactAdder squares = squareSumOf(s);
            squares.add(other.p1[bs]);
            squares.add(other.p2[bs]);
            squares.add(other.e1[bs]);
            squares.add(other.e2[bs]);
        }
    }

    private void addLevels(ExactFeatureSummary other, int bs, int s) {
        x1[s] += other.x1[bs];
        x2[s] += other.x2[bs];
        p1[s] += other.p1[bs];
        p2[s] += other.p2[bs];
        e1[s] += other.e1[bs];
        e2[s] += other.e2[bs];
    }

    /** {@code into} with {@code from} added ({@code into} itself, or a copy of {@code from} when {@code into} is null). */
    private static ExactSum mergedSum(ExactSum into, ExactSum from) {
        if (from == null) {
            return into;
        }
        if (into == null) {
            return from.copy();
        }
        into.merge(from);
        return into;
    }

    @Override
    public int dimension() {
        return dimension;
    }

    @Override
    public long count() {
        return count;
    }


    /** Always true: exact sums refuse NaN and infinity (when their row or block is summed), never hold them. */
    @Override
    public boolean isFinite() {
        return true;
    }

    @Override
    public FeatureStatistics toStatistics() {
        return moments().toStatistics();
    }

    @Override
    public FeatureStatistics mergeInto(FeatureStatistics base) {
        return count == 0 ? base : base.merge(moments());
    }

    @Override
    public FeatureStatistics movingAverageInto(FeatureStatistics base, double momentum, VarianceMode mode) {
        return count == 0 ? base : base.movingAverage(moments(), momentum, mode);
    }

    /** The exact total weight of the rows (weight-1 rows counted, the others summed). */
    private ExactSum totalWeight(boolean squared) {
        ExactSum total = new ExactSum();
        total.merge(squared ? weightSquareSum : weightSum);
        // unitRows < 2^63 is a sum of at most two doubles, each exact.
        double high = (double) (unitRows & ~0x3FF_FFFFL);
        total.add(high);
        total.add((double) (unitRows - (long) high));
        return total;
    }

    /**
     * Per-feature moments derived from the exact sums, each rounded once; a feature with no value of positive weight has
     * weight, mean and variance 0. The touched-only form gives moments of its touched features only (in increasing
     * order), every other feature having seen only zeros: every row's weight, mean 0, variance 0, as the dense form finds.
     */
    FeatureStatistics.Moments moments() {
        if (count == 0) {
            throw new IllegalStateException("no rows with positive weight have been summarised");
        }
        addBufferedRows();
        flushAll();
        int slots = slotsInUse();
        int[] slotOrder = touchedOnly == null ? null : touchedOnly.slotsByFeature();
        int[] storedFeatures = slotOrder == null ? null : new int[slots];
        long[] featureCount = new long[slots];
        double[] featureWeight = new double[slots];
        double[] featureWeightSquare = new double[slots];
        double[] mean = new double[slots];
        double[] variance = new double[slots];
        ExactValue totalWeight = totalWeight(false).value();
        ExactValue totalWeightSquare = totalWeight(true).value();
        double totalWeightDouble = totalWeight.toDouble();
        double totalWeightSquareDouble = totalWeightSquare.toDouble();
        boolean weightIsADouble = ExactValue.of(totalWeightDouble).equals(totalWeight);
        double[] sum1 = new double[2];
        double[] sum2 = new double[2];
        double[] rounded = new double[2];
        for (int j = 0; j < slots; j++) {
            int s = slotOrder == null ? j : slotOrder[j];
            if (storedFeatures != null) {
                storedFeatures[j] = touchedOnly.featureOf(s);
            }
            ExactValue w = totalWeight;
            ExactValue w2 = totalWeightSquare;
            featureCount[j] = count;
            featureWeight[j] = totalWeightDouble;
            featureWeightSquare[j] = totalWeightSquareDouble;
            if (missingCount != null && missingWeight[s] != null) {
                featureCount[j] -= missingCount[s];
                w = w.subtract(missingWeight[s].value());
                w2 = w2.subtract(missingWeightSquare[s].value());
                featureWeight[j] = w.toDouble();
                featureWeightSquare[j] = w2.toDouble();
            }
            if (w.signum() <= 0 || (!sum.has(s) && !squareSum.has(s))) {
                continue; // No value (reported by FeatureStatistics), or every value zero: mean and variance 0.
            }
            if (weightIsADouble && (missingCount == null || missingWeight[s] == null)
                    && sum.toDoubleDouble(s, sum1) && squareSum.toDoubleDouble(s, sum2)
                    && roundedMoments(totalWeightDouble, sum1, sum2, rounded)) {
                mean[j] = rounded[0];
                variance[j] = rounded[1];
                continue;
            }
            ExactValue s1 = sum.value(s);
            ExactValue s2 = squareSum.value(s);
            mean[j] = s1.divideToDouble(w);
            variance[j] = w.multiply(s2).subtract(s1.multiply(s1)).divideToDouble(w.multiply(w));
            if (Double.isInfinite(variance[j])) {
                throw new NonFiniteStatisticException(featureOf(s), "variance", variance[j]);
            }
        }
        return new FeatureStatistics.Moments(count, dimension, storedFeatures, totalWeightDouble, totalWeightSquareDouble,
                featureCount, featureWeight, featureWeightSquare, mean, variance);
    }

    /**
     * The mean {@code S1/W} and variance {@code (W*S2 - S1^2)/W^2} rounded to doubles, from double-double approximations
     * of the exact sums (each within 2^-100), when the error bounds of the double-double arithmetic prove that rounding
     * the approximations gives the same doubles as rounding the exact values would; false otherwise (then the exact
     * big-integer arithmetic decides). Both paths give the correctly rounded values, so which one ran never shows in the
     * result; this one costs about as much as the fast accumulator's own finalisation, where big integers cost
     * microseconds per feature. It gives up under heavy cancellation (variance below 2^-20 of the mean square).
     */
    static boolean roundedMoments(double w, double[] s1, double[] s2, double[] out) {
        // Mean: S1 / W; the remainder of the leading quotient is exact (fma), then corrected by S1's low part.
        double q = s1[0] / w;
        double correction = (Math.fma(-q, w, s1[0]) + s1[1]) / w;
        double meanHigh = q + correction;
        double meanLow = correction - (meanHigh - q);
        if (!certain(meanHigh, meanLow, 0x1p-94 * Math.abs(meanHigh))) {
            return false;
        }
        // N = W*S2 - S1^2, each product in double-double.
        double a = w * s2[0];
        double aLow = Math.fma(w, s2[0], -a) + w * s2[1];
        double b = s1[0] * s1[0];
        double bLow = Math.fma(s1[0], s1[0], -b) + 2.0 * s1[0] * s1[1];
        double sum = a - b;
        double bv = sum - a;
        double sumLow = (a - (sum - bv)) + (-b - bv);
        double nLow = sumLow + (aLow - bLow);
        double nHigh = sum + nLow;
        nLow = nLow - (nHigh - sum);
        double scale = Math.abs(a) + Math.abs(b);
        if (scale == 0.0) {
            out[0] = meanHigh; // every value zero
            out[1] = 0.0;
            return true;
        }
        if (!(Math.abs(nHigh) >= 0x1p-20 * scale) || Math.abs(nHigh) > 0x1p900 || Math.abs(nHigh) < 0x1p-900) {
            return false;
        }
        // V = N / W^2, with W^2 in double-double.
        double w2 = w * w;
        double w2Low = Math.fma(w, w, -w2);
        double v = nHigh / w2;
        double vCorrection = (Math.fma(-v, w2, nHigh) + nLow - v * w2Low) / w2;
        double varianceHigh = v + vCorrection;
        double varianceLow = vCorrection - (varianceHigh - v);
        // N carries 2^-97 * scale of error from the sums and products; that, relative to N, bounds V's error.
        double relative = 0x1p-96 * scale / Math.abs(nHigh) + 0x1p-96;
        if (!certain(varianceHigh, varianceLow, relative * Math.abs(varianceHigh))) {
            return false;
        }
        out[0] = meanHigh;
        out[1] = varianceHigh;
        return true;
    }

    /**
     * Whether every value within {@code error} of {@code high + low} (with {@code |low| <= ulp(high)/2}) rounds to
     * {@code high}: the interval stays strictly inside {@code high}'s rounding interval, whose lower half is narrower
     * when {@code high} is a power of two. Values near the subnormal range or overflow are left to the exact path.
     */
    private static boolean certain(double high, double low, double error) {
        if (high == 0.0) {
            return low == 0.0 && error == 0.0;
        }
        double magnitude = Math.abs(high);
        if (!(magnitude >= 0x1p-1000 && magnitude <= 0x1p1000)) {
            return false;
        }
        double halfUlp = Math.ulp(high) / 2;
        boolean powerOfTwo = (Double.doubleToRawLongBits(high) & 0x000F_FFFF_FFFF_FFFFL) == 0;
        double towardZero = powerOfTwo ? halfUlp / 2 : halfUlp;
        double up = high > 0 ? halfUlp : towardZero;
        double down = high > 0 ? towardZero : halfUlp;
        return low + error < up && low - error > -down;
    }

    /** Words held by the exact sums: the summary's size, for the README's bytes-per-feature figure. */
    public long allocatedWords() {
        long words = weightSum.allocatedWords() + weightSquareSum.allocatedWords();
        if (sum != null) {
            words += sum.allocatedWords() + squareSum.allocatedWords();
        }
        return words;
    }

    /** Java serialization writes the compact form ({@link Compact}) instead of the working arrays. */
    private Object writeReplace() throws ObjectStreamException {
        return new Compact(toBytes());
    }

    /**
     * The summary in its compact form: counts, its form and switch, then each touched feature's exact sums (open blocks
     * included) in their shortest form, then the missing values.
     */
    byte[] toBytes() {
        UnlockedBytesOut buffer = new UnlockedBytesOut(64 + 8 * slotsInUse());
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            out.writeInt(dimension);
            out.writeLong(count);
            out.writeLong(unitRows);
            weightSum.writeCompact(out);
            weightSquareSum.writeCompact(out);
            out.writeDouble(denseShare);
            out.writeInt(denseFromStartUpTo);
            out.writeBoolean(touchedOnly != null);
            if (dimension > 0) {
                writeFeatures(out);
                writeMissing(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buffer.toByteArray();
    }

    private void writeFeatures(DataOutputStream out) throws IOException {
        addBufferedRows();
        ExactSum scratch = new ExactSum();
        int previous = -1;
        int[] slotOrder = touchedOnly == null ? null : touchedOnly.slotsByFeature();
        int slots = slotsInUse();
        for (int i = 0; i < slots; i++) {
            int j = slotOrder == null ? i : slotOrder[i];
            int feature = featureOf(j);
            boolean blockTouched = x1[j] != 0.0 || x2[j] != 0.0 || p1[j] != 0.0 || p2[j] != 0.0 || e1[j] != 0.0
                    || e2[j] != 0.0;
            if (!sum.has(j) && !squareSum.has(j) && !blockTouched) {
                continue;
            }
            ExactSum.writeVarInt(out, feature - previous);
            previous = feature;
            // An open block is written as part of the sums, without closing it: serialising changes nothing.
            sum.copyTo(j, scratch);
            scratch.add(x1[j]);
            scratch.add(x2[j]);
            scratch.writeCompact(out);
            squareSum.copyTo(j, scratch);
            scratch.add(p1[j]);
            scratch.add(p2[j]);
            scratch.add(e1[j]);
            scratch.add(e2[j]);
            scratch.writeCompact(out);
        }
        ExactSum.writeVarInt(out, 0);
    }

    private void writeMissing(DataOutputStream out) throws IOException {
        out.writeBoolean(missingCount != null);
        if (missingCount == null) {
            return;
        }
        int previous = -1;
        int[] slotOrder = touchedOnly == null ? null : touchedOnly.slotsByFeature();
        int slots = slotsInUse();
        for (int i = 0; i < slots; i++) {
            int j = slotOrder == null ? i : slotOrder[i];
            if (missingCount[j] == 0) {
                continue;
            }
            int feature = featureOf(j);
            ExactSum.writeVarInt(out, feature - previous);
            previous = feature;
            out.writeLong(missingCount[j]);
            missingWeight[j].writeCompact(out);
            missingWeightSquare[j].writeCompact(out);
        }
        ExactSum.writeVarInt(out, 0);
    }

    /** A summary read back from {@link #toBytes()}. */
    static ExactFeatureSummary fromBytes(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new UnlockedBytesIn(bytes))) {
            int dimension = in.readInt();
            long count = in.readLong();
            long unitRows = in.readLong();
            ExactSum weightSum = ExactSum.readCompact(in);
            ExactSum weightSquareSum = ExactSum.readCompact(in);
            ExactFeatureSummary summary = new ExactFeatureSummary(in.readDouble(), in.readInt());
            boolean touchedOnly = in.readBoolean();
            summary.count = count;
            summary.unitRows = unitRows;
            summary.weightSum = weightSum;
            summary.weightSquareSum = weightSquareSum;
            if (dimension >= 0 && touchedOnly) {
                summary.allocateTouchedOnly(dimension);
            } else if (dimension >= 0) {
                summary.allocate(dimension);
            }
            if (dimension > 0) {
                int j = -1;
                for (int step = ExactSum.readVarInt(in); step != 0; step = ExactSum.readVarInt(in)) {
                    j += step;
                    int s = summary.slotFor(j);
                    summary.sum.readCompact(s, in);
                    summary.squareSum.readCompact(s, in);
                }
                if (in.readBoolean()) {
                    j = -1;
                    for (int step = ExactSum.readVarInt(in); step != 0; step = ExactSum.readVarInt(in)) {
                        j += step;
                        int s = summary.slotFor(j);
                        summary.ensureMissingArrays();
                        summary.missingCount[s] = in.readLong();
                        summary.missingWeight[s] = ExactSum.readCompact(in);
                        summary.missingWeightSquare[s] = ExactSum.readCompact(in);
                    }
                }
            }
            return summary;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code ByteArrayOutputStream} without its lock: {@code DataOutputStream} writes an int a byte at a time, and a
     * summary of a million features writes millions of them.
     */
    private static final class UnlockedBytesOut extends OutputStream {
        private byte[] bytes;
        private int size;

        UnlockedBytesOut(int capacity) {
            bytes = new byte[capacity];
        }

        private void ensure(int capacity) {
            if (capacity > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(capacity, 2 * bytes.length));
            }
        }

        @Override
        public void write(int b) {
            ensure(size + 1);
            bytes[size++] = (byte) b;
        }

        @Override
        public void write(byte[] source, int offset, int length) {
            ensure(size + length);
            System.arraycopy(source, offset, bytes, size, length);
            size += length;
        }

        byte[] toByteArray() {
            return Arrays.copyOf(bytes, size);
        }
    }

    /** {@code ByteArrayInputStream} without its lock, for the same reason as {@link UnlockedBytesOut}. */
    private static final class UnlockedBytesIn extends InputStream {
        private final byte[] bytes;
        private int position;

        UnlockedBytesIn(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read() {
            return position < bytes.length ? bytes[position++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] target, int offset, int length) {
            if (length == 0) {
                return 0;
            }
            if (position >= bytes.length) {
                return -1;
            }
            int n = Math.min(length, bytes.length - position);
            System.arraycopy(bytes, position, target, offset, n);
            position += n;
            return n;
        }
    }

    /** The serialised form: the bytes of {@link #toBytes()}. */
    private static final class Compact implements Serializable {
        private static final long serialVersionUID = 2L;
        private final byte[] bytes;

        Compact(byte[] bytes) {
            this.bytes = bytes;
        }

        private Object readResolve() throws ObjectStreamException {
            return fromBytes(bytes);
        }
    }

    @Override
    public String toString() {
        return "ExactFeatureSummary(dimension=" + dimension + ", count=" + count + ")";
    }
}
