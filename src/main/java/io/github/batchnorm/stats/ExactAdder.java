package io.github.batchnorm.stats;

import java.math.BigInteger;

/**
 * What every exact sum does with a double, a product or a square: cut it into significands at fixed-point positions, which
 * the subclass adds to its digits ({@link ExactSum}: one sum in its own array; {@link ExactSums}: one slot of many sums in
 * one array). Positions are counted from 2^-(1074 + OFFSET_BITS): far enough below the smallest subnormal that the exact
 * error terms of squares of tiny values still land at a non-negative position.
 */
abstract class ExactAdder {
    static final int OFFSET_BITS = 1344;
    /** Squares of values in [2^-400, 2^500] neither overflow nor lose their error term to underflow. */
    private static final double SQUARE_SAFE_MAX = 0x1p500;
    private static final double SQUARE_SAFE_MIN = 0x1p-400;

    /** Adds {@code significand * 2^(position - 1074 - OFFSET_BITS)}, with {@code |significand| < 2^53}. */
    abstract void addSignificand(long significand, int position);

    /** Adds {@code x} exactly. NaN and infinities cannot be represented and are rejected. */
    public void add(double x) {
        if (x == 0.0) {
            return;
        }
        long bits = Double.doubleToRawLongBits(x);
        int biased = (int) (bits >>> 52) & 0x7FF;
        if (biased == 0x7FF) {
            throw new IllegalArgumentException("cannot sum a non-finite value: " + x);
        }
        long significand = bits & 0x000F_FFFF_FFFF_FFFFL;
        if (biased == 0) {
            biased = 1;
        } else {
            significand |= 0x0010_0000_0000_0000L;
        }
        addSignificand(bits < 0 ? -significand : significand, biased - 1 + OFFSET_BITS);
    }

    /** Adds {@code a * b} exactly (the rounded product and its rounding error, by a fused multiply-add). */
    public void addProduct(double a, double b) {
        double product = a * b;
        if (Double.isFinite(product) && (product == 0.0 || Math.abs(product) >= 0x1p-968)) {
            add(product);
            add(Math.fma(a, b, -product));
            return;
        }
        addScaledProduct(a, b);
    }

    /** Adds {@code x * x} exactly. */
    public void addSquare(double x) {
        double magnitude = Math.abs(x);
        if (magnitude < SQUARE_SAFE_MAX && magnitude > SQUARE_SAFE_MIN) {
            double square = x * x;
            add(square);
            add(Math.fma(x, x, -square));
            return;
        }
        addScaledProduct(x, x);
    }

    /** Adds {@code w * x * x} exactly. */
    public void addWeightedSquare(double w, double x) {
        double magnitude = Math.abs(x);
        if (magnitude < SQUARE_SAFE_MAX && magnitude > SQUARE_SAFE_MIN) {
            double square = x * x;
            double error = Math.fma(x, x, -square);
            addProduct(w, square);
            addProduct(w, error);
            return;
        }
        // Rare: values beyond 2^500 or below 2^-500; go through exact big-integer arithmetic.
        ExactValue product = ExactValue.of(w).multiply(ExactValue.of(x)).multiply(ExactValue.of(x));
        addExact(product);
    }

    /** A product whose rounded form would overflow or lose bits to underflow: computed on scaled operands. */
    private void addScaledProduct(double a, double b) {
        if (a == 0.0 || b == 0.0) {
            return;
        }
        if (!Double.isFinite(a) || !Double.isFinite(b)) {
            throw new IllegalArgumentException("cannot sum a non-finite product: " + a + " * " + b);
        }
        addExact(ExactValue.of(a).multiply(ExactValue.of(b)));
    }

    /** Adds an exact value given as integer times power of two. */
    private void addExact(ExactValue value) {
        BigInteger mantissa = value.mantissa();
        int position = value.exponent() + 1074 + OFFSET_BITS;
        if (position < 0) {
            throw new ArithmeticException("value too small to sum exactly: 2^" + value.exponent());
        }
        // Feed the integer 52 bits at a time, lowest first, as significands at increasing positions.
        BigInteger rest = mantissa;
        int shift = 0;
        long mask = (1L << 52) - 1;
        BigInteger bigMask = BigInteger.valueOf(mask);
        boolean negative = rest.signum() < 0;
        rest = rest.abs();
        while (rest.signum() != 0) {
            long piece = rest.and(bigMask).longValue();
            if (piece != 0) {
                addSignificand(negative ? -piece : piece, position + shift);
            }
            rest = rest.shiftRight(52);
            shift += 52;
        }
    }
}
