package io.github.batchnorm.stats;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectStreamException;
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
 * plain double sum. Instead each feature collects its values in blocks of at most {@link #BLOCK} values, in a handful of
 * plain doubles ("levels"), and adds those to its {@link ExactSum}s once per block. A block has a bound {@code B}, a power
 * of two above its values. Each value is cut exactly onto fixed grids below {@code B} by Rump's extraction
 * ({@code a = (x + s) - s}, with {@code s} a power of two times 1.5 far enough above {@code B}): {@code x} on two levels,
 * its square {@code p = x*x} on two, and the square's rounding error {@code e = fma(x, x, -p)} on two. Every part on a
 * level is a multiple of that level's grid and at most {@code B} (scaled), so 256 of them add up exactly in a double: the
 * levels are exact sums without any branch or integer arithmetic. What the levels cannot hold (the last remainder of a
 * value about 2^19 times smaller than {@code B}) is added to the {@link ExactSum}s directly, and so is every value outside
 * [2^-400, 2^300] and every value of a weighted row: slower, still exact. A value above the bound closes its feature's
 * block and opens one with a larger bound.
 *
 * <p>Dense rows run one branch-free loop over the features (which the JIT vectorises) after a check that every value is
 * within its feature's bound; sparse rows cost O(non-zeros) and features a partition never touches hold nothing but
 * empty slots. Serialised (Java serialization, as Spark ships task results), the summary writes each touched feature's
 * sums in their shortest exact form: a few dozen bytes per feature.
 *
 * <p>The exact error of a square needs {@link Math#fma}; on a CPU without FMA the JVM emulates it in software, correctly
 * but slowly, and {@link #HARDWARE_FMA} switches to Dekker's exact product instead.
 *
 * <p>Mutable; {@link #merge} never changes its argument. Not thread-safe.
 */
public final class ExactFeatureSummary implements FeatureAccumulator {
    private static final long serialVersionUID = 2L;

    /** Values per block: 256 parts of at most {@code B} stay exact in a double whose grid is {@code B * 2^-45}. */
    static final int BLOCK = 256;
    /** A new bound is this many binades above the value that opens the block, so later values rarely exceed it. */
    private static final int MARGIN_BINADES = 3;
    /** Values outside [SMALLEST, LARGEST] skip the blocks: their squares or square errors would leave the normal range. */
    private static final double SMALLEST = 0x1p-400;
    private static final double LARGEST = 0x1p300;
    /** Level shifts relative to the bound B (for x) or B^2 (for squares); see the class comment. */
    private static final double SHIFT_1 = 0x1.8p7;
    private static final double SHIFT_2 = 0x1.8p-39;
    private static final double ERROR_SHIFT_1 = 0x1.8p-46;
    private static final double ERROR_SHIFT_2 = 0x1.8p-92;
    /** Slots per feature in {@link #levels}. */
    private static final int X1 = 0;
    private static final int X2 = 1;
    private static final int P1 = 2;
    private static final int P2 = 3;
    private static final int E1 = 4;
    private static final int E2 = 5;
    private static final int LEVELS = 6;

    /**
     * Whether {@link Math#fma} runs in hardware. The JVM uses the FMA instruction when its {@code UseFMA} flag is on
     * (HotSpot sets it from the CPU's features); without it, {@code Math.fma} is computed with BigDecimal.
     */
    static final boolean HARDWARE_FMA = FmaSupport.detect();

    private int dimension = -1;
    private long count;
    /** Rows of weight 1 (their weight and squared weight, kept as a count), and the exact sums of the other weights. */
    private long unitRows;
    private ExactSum weightSum = new ExactSum();
    private ExactSum weightSquareSum = new ExactSum();
    /** Per-feature exact sums; an entry stays null until its feature flushes a non-zero block. */
    private ExactSum[] sum;
    private ExactSum[] squareSum;
    /** Per-feature bound of the open block (a power of two), 0 while the feature has none; and its inverse. */
    private double[] bound;
    private double[] inverseBound;
    /** The open blocks' levels, {@link #LEVELS} per feature (feature-major for the dense loop: slot * dimension + j). */
    private double[] levels;
    /**
     * Values added to each feature's open block one by one; the values of dense rows are counted once for all features in
     * {@link #denseRows}, so a block holds {@code blockCount[j] + denseRows} values (a flush of one feature sets its count
     * to {@code -denseRows}).
     */
    private int[] blockCount;
    private int denseRows;
    /** At least the largest {@code blockCount} since the last {@link #flushAll}: what a dense row checks. */
    private int maxBlockCount;
    /** Per-feature count, weight and squared weight of missing values; null until the first missing value. */
    private long[] missingCount;
    private ExactSum[] missingWeight;
    private ExactSum[] missingWeightSquare;

    @Override
    public ExactFeatureSummary add(double[] values, double weight) {
        if (!startRow(values.length, weight)) {
            return this;
        }
        if (weight != 1.0) {
            for (int j = 0; j < values.length; j++) {
                addWeighted(j, values[j], weight);
            }
        } else if (!addDenseRow(values)) {
            for (int j = 0; j < values.length; j++) {
                addUnit(j, values[j]);
            }
        }
        return this;
    }

    @Override
    public ExactFeatureSummary addWithMissing(double[] values, double weight) {
        if (startRow(values.length, weight)) {
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
        if (startRow(size, weight)) {
            for (int k = 0; k < stored; k++) {
                addValue(indices[k], values[k], weight);
            }
        }
        return this;
    }

    @Override
    public ExactFeatureSummary addSparseWithMissing(int size, int[] indices, double[] values, int stored,
            double weight) {
        if (startRow(size, weight)) {
            for (int k = 0; k < stored; k++) {
                if (Double.isFinite(values[k])) {
                    addValue(indices[k], values[k], weight);
                } else {
                    markMissing(indices[k], weight);
                }
            }
        }
        return this;
    }

    private boolean startRow(int size, double weight) {
        RowChecks.requireValidWeight(weight);
        if (RowChecks.adoptsDimension(dimension, size)) {
            allocate(size);
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

    private void allocate(int size) {
        dimension = size;
        sum = new ExactSum[size];
        squareSum = new ExactSum[size];
        bound = new double[size];
        inverseBound = new double[size];
        // No open block: the dense row's check fails (0 * infinity is NaN) and its values go one by one.
        Arrays.fill(inverseBound, Double.POSITIVE_INFINITY);
        levels = new double[LEVELS * size];
        blockCount = new int[size];
    }

    private void addValue(int j, double x, double weight) {
        if (weight == 1.0) {
            addUnit(j, x);
        } else {
            addWeighted(j, x, weight);
        }
    }

    /**
     * A dense row of weight 1 in one pass over the features, if every value is within its feature's open block (else
     * false, and nothing was added). A value whose last remainders the levels cannot hold is finished by
     * {@link #finishRow}.
     */
    private boolean addDenseRow(double[] values) {
        final int d = values.length;
        final double[] inverse = inverseBound;
        // NaN (a feature without an open block has inverse bound +infinity, times 0) and values >= B fail this test.
        double over = 0.0;
        for (int j = 0; j < d; j++) {
            over = Math.max(over, Math.abs(values[j]) * inverse[j]);
        }
        if (!(over < 1.0)) {
            return false;
        }
        if (denseRows + maxBlockCount >= BLOCK) {
            flushAll();
        }
        final double[] b = bound;
        final double[] lv = levels;
        double leftover = 0.0;
        for (int j = 0; j < d; j++) {
            double x = values[j];
            double bx = b[j];
            double bp = bx * bx;
            double s = bx * SHIFT_1;
            double a = (x + s) - s;
            double r = x - a;
            s = bx * SHIFT_2;
            double a2 = (r + s) - s;
            double rx = r - a2;
            lv[j] += a;
            lv[d + j] += a2;

            double p = x * x;
            double e = HARDWARE_FMA ? Math.fma(x, x, -p) : FmaSupport.squareError(x, p);
            s = bp * SHIFT_1;
            a = (p + s) - s;
            r = p - a;
            s = bp * SHIFT_2;
            a2 = (r + s) - s;
            double rp = r - a2;
            lv[2 * d + j] += a;
            lv[3 * d + j] += a2;

            s = bp * ERROR_SHIFT_1;
            a = (e + s) - s;
            r = e - a;
            s = bp * ERROR_SHIFT_2;
            a2 = (r + s) - s;
            double re = r - a2;
            lv[4 * d + j] += a;
            lv[5 * d + j] += a2;
            leftover = Math.max(leftover, Math.abs(rx) + Math.abs(rp) + Math.abs(re));
        }
        denseRows++;
        if (leftover != 0.0) {
            finishRow(values);
        }
        return true;
    }


    /** Adds, exactly, what the levels could not hold of a dense row that {@link #addDenseRow} just added. */
    private void finishRow(double[] values) {
        for (int j = 0; j < values.length; j++) {
            double x = values[j];
            double bx = bound[j];
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
        ExactSum squares = squareSumOf(j);
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
            throw new IllegalArgumentException("feature " + j + " has a non-finite value " + x);
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
        if (blockCount[j] + denseRows >= BLOCK) {
            flush(j);
        }
        int inBlock = ++blockCount[j];
        if (inBlock > maxBlockCount) {
            maxBlockCount = inBlock;
        }
        final int d = dimension;
        double bp = bx * bx;
        double a = extract(x, bx * SHIFT_1);
        double r = x - a;
        double a2 = extract(r, bx * SHIFT_2);
        double rx = r - a2;
        levels[X1 * d + j] += a;
        levels[X2 * d + j] += a2;
        double p = x * x;
        double e = HARDWARE_FMA ? Math.fma(x, x, -p) : FmaSupport.squareError(x, p);
        a = extract(p, bp * SHIFT_1);
        r = p - a;
        a2 = extract(r, bp * SHIFT_2);
        double rp = r - a2;
        levels[P1 * d + j] += a;
        levels[P2 * d + j] += a2;
        a = extract(e, bp * ERROR_SHIFT_1);
        r = e - a;
        a2 = extract(r, bp * ERROR_SHIFT_2);
        double re = r - a2;
        levels[E1 * d + j] += a;
        levels[E2 * d + j] += a2;
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
            throw new IllegalArgumentException("feature " + j + " has a non-finite value " + x);
        }
        sumOf(j).addProduct(weight, x);
        squareSumOf(j).addWeightedSquare(weight, x);
    }

    private ExactSum sumOf(int j) {
        ExactSum s = sum[j];
        if (s == null) {
            s = new ExactSum();
            sum[j] = s;
        }
        return s;
    }

    private ExactSum squareSumOf(int j) {
        ExactSum s = squareSum[j];
        if (s == null) {
            s = new ExactSum();
            squareSum[j] = s;
        }
        return s;
    }

    /** Moves feature {@code j}'s open block into its exact sums and empties it (its bound stays). */
    private void flush(int j) {
        final int d = dimension;
        double x1 = levels[X1 * d + j];
        double x2 = levels[X2 * d + j];
        if (x1 != 0.0 || x2 != 0.0) {
            ExactSum s = sumOf(j);
            s.add(x1);
            s.add(x2);
            levels[X1 * d + j] = 0.0;
            levels[X2 * d + j] = 0.0;
        }
        if (levels[P1 * d + j] != 0.0 || levels[P2 * d + j] != 0.0 || levels[E1 * d + j] != 0.0
                || levels[E2 * d + j] != 0.0) {
            ExactSum s = squareSumOf(j);
            for (int slot = P1; slot <= E2; slot++) {
                s.add(levels[slot * d + j]);
                levels[slot * d + j] = 0.0;
            }
        }
        blockCount[j] = -denseRows;
    }

    private void flushAll() {
        if (dimension <= 0) {
            return;
        }
        denseRows = 0;
        for (int j = 0; j < dimension; j++) {
            flush(j);
        }
        maxBlockCount = 0;
    }

    private void markMissing(int j, double weight) {
        if (missingCount == null) {
            missingCount = new long[dimension];
            missingWeight = new ExactSum[dimension];
            missingWeightSquare = new ExactSum[dimension];
        }
        missingCount[j]++;
        if (missingWeight[j] == null) {
            missingWeight[j] = new ExactSum();
            missingWeightSquare[j] = new ExactSum();
        }
        missingWeight[j].add(weight);
        missingWeightSquare[j].addSquare(weight);
    }

    @Override
    public ExactFeatureSummary merge(FeatureAccumulator accumulator) {
        ExactFeatureSummary other = (ExactFeatureSummary) accumulator;
        if (other.dimension < 0) {
            return this;
        }
        if (dimension < 0) {
            allocate(other.dimension);
        } else if (dimension != other.dimension) {
            throw new DimensionMismatchException(dimension, other.dimension);
        }
        count += other.count;
        unitRows += other.unitRows;
        weightSum.merge(other.weightSum);
        weightSquareSum.merge(other.weightSquareSum);
        final int d = dimension;
        for (int j = 0; j < d; j++) {
            if (other.sum[j] != null) {
                sumOf(j).merge(other.sum[j]);
            }
            if (other.squareSum[j] != null) {
                squareSumOf(j).merge(other.squareSum[j]);
            }
            if (other.bound[j] != 0.0) {
                // The argument's open block is added to the exact sums, level by level: it stays as it was.
                double x1 = other.levels[X1 * d + j];
                double x2 = other.levels[X2 * d + j];
                if (x1 != 0.0 || x2 != 0.0) {
                    ExactSum s = sumOf(j);
                    s.add(x1);
                    s.add(x2);
                }
                for (int slot = P1; slot <= E2; slot++) {
                    double level = other.levels[slot * d + j];
                    if (level != 0.0) {
                        squareSumOf(j).add(level);
                    }
                }
            }
        }
        if (other.missingCount != null) {
            if (missingCount == null) {
                missingCount = new long[dimension];
                missingWeight = new ExactSum[dimension];
                missingWeightSquare = new ExactSum[dimension];
            }
            for (int j = 0; j < dimension; j++) {
                missingCount[j] += other.missingCount[j];
            }
            mergeSums(missingWeight, other.missingWeight);
            mergeSums(missingWeightSquare, other.missingWeightSquare);
        }
        return this;
    }

    private static void mergeSums(ExactSum[] into, ExactSum[] from) {
        for (int j = 0; j < from.length; j++) {
            if (from[j] != null) {
                if (into[j] == null) {
                    into[j] = new ExactSum();
                }
                into[j].merge(from[j]);
            }
        }
    }

    @Override
    public int dimension() {
        return dimension;
    }

    @Override
    public long count() {
        return count;
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
     * weight, mean and variance 0.
     */
    FeatureStatistics.Moments moments() {
        if (count == 0) {
            throw new IllegalStateException("no rows with positive weight have been summarised");
        }
        flushAll();
        long[] featureCount = new long[dimension];
        double[] featureWeight = new double[dimension];
        double[] featureWeightSquare = new double[dimension];
        double[] mean = new double[dimension];
        double[] variance = new double[dimension];
        ExactValue totalWeight = totalWeight(false).value();
        ExactValue totalWeightSquare = totalWeight(true).value();
        double totalWeightDouble = totalWeight.toDouble();
        double totalWeightSquareDouble = totalWeightSquare.toDouble();
        for (int j = 0; j < dimension; j++) {
            ExactValue w = totalWeight;
            ExactValue w2 = totalWeightSquare;
            featureCount[j] = count;
            featureWeight[j] = totalWeightDouble;
            featureWeightSquare[j] = totalWeightSquareDouble;
            if (missingCount != null && missingWeight[j] != null) {
                featureCount[j] -= missingCount[j];
                w = w.subtract(missingWeight[j].value());
                w2 = w2.subtract(missingWeightSquare[j].value());
                featureWeight[j] = w.toDouble();
                featureWeightSquare[j] = w2.toDouble();
            }
            if (w.signum() <= 0 || (sum[j] == null && squareSum[j] == null)) {
                continue; // No value (reported by FeatureStatistics), or every value zero: mean and variance 0.
            }
            ExactValue s1 = sum[j] == null ? ExactValue.ZERO : sum[j].value();
            ExactValue s2 = squareSum[j] == null ? ExactValue.ZERO : squareSum[j].value();
            mean[j] = s1.divideToDouble(w);
            variance[j] = w.multiply(s2).subtract(s1.multiply(s1)).divideToDouble(w.multiply(w));
            if (Double.isInfinite(variance[j])) {
                throw new NonFiniteStatisticException(j, "variance", variance[j]);
            }
        }
        return new FeatureStatistics.Moments(count, featureCount, featureWeight, featureWeightSquare, mean, variance);
    }

    /** Words held by the exact sums: the summary's size, for the README's bytes-per-feature figure. */
    public long allocatedWords() {
        long words = weightSum.allocatedWords() + weightSquareSum.allocatedWords();
        if (sum != null) {
            words += Arrays.stream(sum).filter(s -> s != null).mapToLong(ExactSum::allocatedWords).sum();
            words += Arrays.stream(squareSum).filter(s -> s != null).mapToLong(ExactSum::allocatedWords).sum();
        }
        return words;
    }

    /** Java serialization writes the compact form ({@link Compact}) instead of the working arrays. */
    private Object writeReplace() throws ObjectStreamException {
        return new Compact(toBytes());
    }

    /**
     * The summary in its compact form: counts, then each touched feature's exact sums (open blocks included) in their
     * shortest form, then the missing values.
     */
    byte[] toBytes() {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream(64 + (dimension < 0 ? 0 : 8 * dimension));
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            out.writeInt(dimension);
            out.writeLong(count);
            out.writeLong(unitRows);
            weightSum.writeCompact(out);
            weightSquareSum.writeCompact(out);
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
        final int d = dimension;
        ExactSum scratch = new ExactSum();
        int previous = -1;
        for (int j = 0; j < d; j++) {
            boolean blockTouched = false;
            for (int slot = 0; slot < LEVELS && !blockTouched; slot++) {
                blockTouched = levels[slot * d + j] != 0.0;
            }
            if (sum[j] == null && squareSum[j] == null && !blockTouched) {
                continue;
            }
            ExactSum.writeVarInt(out, j - previous);
            previous = j;
            writeWithLevels(out, scratch, sum[j], j, X1, X2);
            writeWithLevels(out, scratch, squareSum[j], j, P1, E2);
        }
        ExactSum.writeVarInt(out, 0);
    }

    private void writeWithLevels(DataOutputStream out, ExactSum scratch, ExactSum exact, int j, int firstSlot,
            int lastSlot) throws IOException {
        if (exact == null) {
            scratch.clear();
        } else {
            scratch.setTo(exact);
        }
        for (int slot = firstSlot; slot <= lastSlot; slot++) {
            scratch.add(levels[slot * dimension + j]);
        }
        scratch.writeCompact(out);
    }

    private void writeMissing(DataOutputStream out) throws IOException {
        out.writeBoolean(missingCount != null);
        if (missingCount == null) {
            return;
        }
        int previous = -1;
        for (int j = 0; j < dimension; j++) {
            if (missingCount[j] == 0) {
                continue;
            }
            ExactSum.writeVarInt(out, j - previous);
            previous = j;
            out.writeLong(missingCount[j]);
            missingWeight[j].writeCompact(out);
            missingWeightSquare[j].writeCompact(out);
        }
        ExactSum.writeVarInt(out, 0);
    }

    /** A summary read back from {@link #toBytes()}. */
    static ExactFeatureSummary fromBytes(byte[] bytes) {
        ExactFeatureSummary summary = new ExactFeatureSummary();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            int dimension = in.readInt();
            summary.count = in.readLong();
            summary.unitRows = in.readLong();
            summary.weightSum = ExactSum.readCompact(in);
            summary.weightSquareSum = ExactSum.readCompact(in);
            if (dimension >= 0) {
                summary.allocate(dimension);
            }
            if (dimension > 0) {
                int j = -1;
                for (int step = ExactSum.readVarInt(in); step != 0; step = ExactSum.readVarInt(in)) {
                    j += step;
                    summary.sum[j] = nullIfZero(ExactSum.readCompact(in));
                    summary.squareSum[j] = nullIfZero(ExactSum.readCompact(in));
                }
                if (in.readBoolean()) {
                    summary.missingCount = new long[dimension];
                    summary.missingWeight = new ExactSum[dimension];
                    summary.missingWeightSquare = new ExactSum[dimension];
                    j = -1;
                    for (int step = ExactSum.readVarInt(in); step != 0; step = ExactSum.readVarInt(in)) {
                        j += step;
                        summary.missingCount[j] = in.readLong();
                        summary.missingWeight[j] = ExactSum.readCompact(in);
                        summary.missingWeightSquare[j] = ExactSum.readCompact(in);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return summary;
    }

    private static ExactSum nullIfZero(ExactSum sum) {
        return sum.allocatedWords() == 0 ? null : sum;
    }

    /** The serialised form: the bytes of {@link #toBytes()}. */
    private static final class Compact implements Serializable {
        private static final long serialVersionUID = 1L;
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
