package io.github.batchnorm.stats;

import java.math.BigInteger;

/**
 * An exact binary number, {@code mantissa * 2^exponent}: what an {@link ExactSum} holds, and the arithmetic that turns
 * exact sums into correctly rounded statistics. Immutable; equal values are equal objects whatever their representation.
 */
public final class ExactValue {
    /** Zero. */
    public static final ExactValue ZERO = new ExactValue(BigInteger.ZERO, 0);

    private final BigInteger mantissa;
    private final int exponent;

    /** {@code mantissa * 2^exponent}; stored with trailing zero bits stripped so equal values compare equal. */
    public ExactValue(BigInteger mantissa, int exponent) {
        if (mantissa.signum() == 0) {
            this.mantissa = BigInteger.ZERO;
            this.exponent = 0;
        } else {
            int trailing = mantissa.getLowestSetBit();
            this.mantissa = mantissa.shiftRight(trailing);
            this.exponent = exponent + trailing;
        }
    }

    /** The exact value of a finite double. */
    public static ExactValue of(double x) {
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException("not a finite value: " + x);
        }
        if (x == 0.0) {
            return ZERO;
        }
        long bits = Double.doubleToRawLongBits(x);
        int biased = (int) (bits >>> 52) & 0x7FF;
        long significand = bits & 0x000F_FFFF_FFFF_FFFFL;
        if (biased == 0) {
            biased = 1;
        } else {
            significand |= 0x0010_0000_0000_0000L;
        }
        return new ExactValue(BigInteger.valueOf(bits < 0 ? -significand : significand), biased - 1075);
    }

    public BigInteger mantissa() {
        return mantissa;
    }

    public int exponent() {
        return exponent;
    }

    public int signum() {
        return mantissa.signum();
    }

    public ExactValue add(ExactValue other) {
        if (other.signum() == 0) {
            return this;
        }
        if (signum() == 0) {
            return other;
        }
        int common = Math.min(exponent, other.exponent);
        return new ExactValue(mantissa.shiftLeft(exponent - common).add(other.mantissa.shiftLeft(other.exponent - common)),
                common);
    }

    public ExactValue subtract(ExactValue other) {
        return add(other.negate());
    }

    public ExactValue negate() {
        return new ExactValue(mantissa.negate(), exponent);
    }

    public ExactValue multiply(ExactValue other) {
        return new ExactValue(mantissa.multiply(other.mantissa), exponent + other.exponent);
    }

    /** Rounded once to the nearest double, ties to even; infinite beyond the double range. */
    public double toDouble() {
        return divideToDouble(new ExactValue(BigInteger.ONE, 0));
    }

    /**
     * {@code this / divisor}, rounded once to the nearest double (ties to even): the quotient is computed to 64 bits or
     * more with a sticky bit for the remainder, which the final conversion cannot round the wrong way.
     *
     * @throws ArithmeticException if {@code divisor} is zero
     */
    public double divideToDouble(ExactValue divisor) {
        if (divisor.signum() == 0) {
            throw new ArithmeticException("division by zero");
        }
        if (signum() == 0) {
            return 0.0;
        }
        BigInteger numerator = mantissa.abs();
        BigInteger denominator = divisor.mantissa.abs();
        int shift = 66 - (numerator.bitLength() - denominator.bitLength());
        BigInteger[] quotientAndRemainder = shift >= 0
                ? numerator.shiftLeft(shift).divideAndRemainder(denominator)
                : numerator.divideAndRemainder(denominator.shiftLeft(-shift));
        BigInteger quotient = quotientAndRemainder[0];
        if (quotientAndRemainder[1].signum() != 0) {
            quotient = quotient.setBit(0);
        }
        long binaryExponent = (long) exponent - divisor.exponent - shift;
        double magnitude = scaleRounded(quotient, binaryExponent);
        return signum() * divisor.signum() < 0 ? -magnitude : magnitude;
    }

    /**
     * {@code quotient * 2^binaryExponent} rounded once. {@code quotient} has at least 65 bits, the lowest of them sticky,
     * so rounding it to 53 bits here is the one and only rounding; results in the subnormal range are rounded to the
     * coarser subnormal grid directly.
     */
    private static double scaleRounded(BigInteger quotient, long binaryExponent) {
        int length = quotient.bitLength();
        long topExponent = binaryExponent + length - 1;
        if (topExponent > Double.MAX_EXPONENT) {
            return Double.POSITIVE_INFINITY;
        }
        int keep = topExponent >= Double.MIN_EXPONENT ? 53 : (int) Math.max(0, 53 - (Double.MIN_EXPONENT - topExponent));
        int drop = length - keep;
        BigInteger kept = quotient.shiftRight(drop);
        boolean roundBit = quotient.testBit(drop - 1);
        boolean sticky = quotient.getLowestSetBit() < drop - 1;
        if (roundBit && (sticky || kept.testBit(0))) {
            kept = kept.add(BigInteger.ONE);
        }
        return Math.scalb((double) kept.longValue(), (int) Math.max(Integer.MIN_VALUE / 2, binaryExponent + drop));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExactValue && exponent == ((ExactValue) o).exponent
                && mantissa.equals(((ExactValue) o).mantissa);
    }

    @Override
    public int hashCode() {
        return 31 * mantissa.hashCode() + exponent;
    }

    @Override
    public String toString() {
        return mantissa + " * 2^" + exponent;
    }
}
