package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("AffineCoefficients")
class AffineCoefficientsTest {
    private static final double[] NONE = new double[0];

    @Test
    void meanScaleAndBetaFollowTheClosedForm() {
        // mean 3, variance 4, epsilon 0, gamma 2 -> a = 2 / 2 = 1; y = (5 - 3) * 1 + 0.5
        AffineCoefficients affine = AffineCoefficients.of(new double[] {3}, new double[] {4}, new double[] {2},
                new double[] {0.5}, 0.0, true, true);
        assertTrue(affine.centering());
        assertArrayEquals(new double[] {3.0}, affine.mean());
        assertArrayEquals(new double[] {1.0}, affine.scale());
        assertArrayEquals(new double[] {0.5}, affine.beta());
        double[] out = new double[1];
        affine.applyDense(new double[] {5}, out);
        assertEquals(2.5, out[0]);
        affine.invertDense(out, out);
        assertEquals(5.0, out[0]);
    }

    @Test
    void theMeanIsSubtractedFirstSoALargeOffsetCostsNoPrecision() {
        // 1e9 + 0.3 is stored as 1e9 + 0.2999999523...; x - mean is exact, so the output is that offset to the last bit.
        // Folding the mean into a shift (a * x + (beta - a * mean)) rounds at the size of 1e9: 6e-8 off here.
        double x = 1e9 + 0.3;
        double exact = new BigDecimal(x).subtract(new BigDecimal(1e9)).doubleValue();
        AffineCoefficients affine = AffineCoefficients.of(new double[] {1e9}, new double[] {1}, NONE, NONE, 0.0, true,
                true);
        double[] out = new double[1];
        affine.applyDense(new double[] {x}, out);
        assertEquals(exact, out[0]);
        affine.invertDense(out, out);
        assertEquals(x, out[0]);
    }

    @Test
    void theScaleIsRoundedOnceNotThrice() {
        // gamma / Math.sqrt(variance + epsilon) rounds three times and lands over an ulp away about a quarter of the
        // time; every output inherits that relative error. Checked against 60-digit BigDecimal on seeded triples.
        SplittableRandom random = new SplittableRandom(17);
        MathContext context = new MathContext(60);
        for (int i = 0; i < 20_000; i++) {
            double sign = random.nextBoolean() ? 1 : -1;
            double gamma = sign * Math.scalb(random.nextDouble(0.5, 1), random.nextInt(-10, 10));
            double variance = Math.scalb(random.nextDouble(0.5, 1), random.nextInt(-60, 60));
            double epsilon = random.nextInt(4) == 0 ? 0.0
                    : Math.scalb(random.nextDouble(0.5, 1), random.nextInt(-30, 0));
            BigDecimal exact = new BigDecimal(gamma)
                    .divide(new BigDecimal(variance).add(new BigDecimal(epsilon)).sqrt(context), context);
            double scale = AffineCoefficients.of(new double[] {0}, new double[] {variance}, new double[] {gamma}, NONE,
                    epsilon, true, true).scale()[0];
            double error = new BigDecimal(scale).subtract(exact).abs().doubleValue();
            assertTrue(error <= 0.5001 * Math.ulp(scale), "gamma " + gamma + ", variance " + variance + ", epsilon "
                    + epsilon + ": " + scale + " is " + error / Math.ulp(scale) + " ulps from " + exact);
        }
    }

    @Test
    void epsilonIsAddedToTheVarianceInsideTheRoot() {
        AffineCoefficients affine = AffineCoefficients.of(new double[] {0}, new double[] {0.75}, NONE, NONE, 0.25,
                true, true);
        assertArrayEquals(new double[] {1.0}, affine.scale());
    }

    @Test
    void constantFeatureWithZeroEpsilonMapsToBetaNeverNaN() {
        AffineCoefficients affine = AffineCoefficients.of(new double[] {7}, new double[] {0}, new double[] {3},
                new double[] {0.25}, 0.0, true, true);
        double[] out = new double[1];
        affine.applyDense(new double[] {7}, out);
        assertEquals(0.25, out[0]);
        affine.applyDense(new double[] {1e300}, out);
        assertEquals(0.25, out[0]);
        // x - mean would overflow to infinity here, and infinity * 0 is NaN: nothing is subtracted where the scale is 0.
        AffineCoefficients extreme = AffineCoefficients.of(new double[] {-1e308}, new double[] {0}, NONE,
                new double[] {0.25}, 0.0, true, true);
        extreme.applyDense(new double[] {1.7e308}, out);
        assertEquals(0.25, out[0]);
        extreme.applySparseToDense(new int[0], new double[0], out);
        assertEquals(0.25, out[0]);
    }

    @Test
    void switchingOffCenterDropsMeanAndBetaAndSwitchingOffScaleDropsVarianceAndGamma() {
        double[] mean = {10};
        double[] variance = {4};
        double[] gamma = {3};
        double[] beta = {1};
        AffineCoefficients noCenter = AffineCoefficients.of(mean, variance, gamma, beta, 0.0, false, true);
        assertFalse(noCenter.centering());
        assertArrayEquals(new double[] {1.5}, noCenter.scale());
        assertArrayEquals(new double[] {0.0}, noCenter.mean());
        assertArrayEquals(new double[] {0.0}, noCenter.beta());
        double[] out = new double[1];
        noCenter.applyDense(new double[] {-0.0}, out);
        assertEquals(-0.0, out[0], "x * a: nothing is added, so even the sign of zero survives");
        AffineCoefficients noScale = AffineCoefficients.of(mean, variance, gamma, beta, 0.0, true, false);
        assertArrayEquals(new double[] {1.0}, noScale.scale());
        assertArrayEquals(new double[] {10.0}, noScale.mean());
        assertArrayEquals(new double[] {1.0}, noScale.beta());
        noScale.applyDense(new double[] {12}, out);
        assertEquals(3.0, out[0]);
    }

    @Test
    void sparseRowsGiveTheSameNumbersAsTheirDenseFormBothWays() {
        AffineCoefficients affine = AffineCoefficients.of(new double[] {1, 2, 3, 4}, new double[] {1, 4, 9, 16},
                new double[] {1, 2, 3, 4}, new double[] {-1, 0, 1, 2}, 1e-5, true, true);
        double[] dense = new double[4];
        affine.applyDense(new double[] {0, 5, 0, -2}, dense);
        double[] fromSparse = new double[4];
        affine.applySparseToDense(new int[] {1, 3}, new double[] {5, -2}, fromSparse);
        assertArrayEquals(dense, fromSparse);
        double[] back = new double[4];
        affine.invertDense(dense, back);
        double[] backFromSparse = new double[4];
        affine.invertSparseToDense(new int[] {1, 3}, new double[] {dense[1], dense[3]}, backFromSparse);
        double[] expected = new double[4];
        affine.invertDense(new double[] {0, dense[1], 0, dense[3]}, expected);
        assertArrayEquals(expected, backFromSparse, "left-out values are zeros on the way back too");
        double[] scaledOnly = new double[2];
        AffineCoefficients noCenter = AffineCoefficients.of(new double[] {1, 2, 3, 4}, new double[] {1, 4, 9, 16}, NONE,
                NONE, 0.0, false, true);
        noCenter.applySparseScaleOnly(new int[] {1, 3}, new double[] {5, -2}, scaledOnly);
        assertArrayEquals(new double[] {2.5, -0.5}, scaledOnly);
        double[] noCenterFromSparse = new double[4];
        noCenter.applySparseToDense(new int[] {1, 3}, new double[] {5, -2}, noCenterFromSparse);
        assertArrayEquals(new double[] {0, 2.5, 0, -0.5}, noCenterFromSparse);
        noCenter.invertSparseScaleOnly(new int[] {1, 3}, scaledOnly, scaledOnly);
        assertArrayEquals(new double[] {5, -2}, scaledOnly);
    }

    @Test
    void coefficientsAreValuesEqualWhenTheirNumbersAre() {
        AffineCoefficients one = AffineCoefficients.of(new double[] {1}, new double[] {4}, NONE, NONE, 0.0, true, true);
        assertEquals(one, AffineCoefficients.of(new double[] {1}, new double[] {4}, NONE, NONE, 0.0, true, true));
        assertEquals(one.hashCode(),
                AffineCoefficients.of(new double[] {1}, new double[] {4}, NONE, NONE, 0.0, true, true).hashCode());
        assertFalse(one.equals(AffineCoefficients.of(new double[] {2}, new double[] {4}, NONE, NONE, 0.0, true, true)),
                "another mean");
        AffineCoefficients atZero = AffineCoefficients.of(new double[] {0}, new double[] {4}, NONE, NONE, 0.0, true,
                true);
        assertFalse(atZero.equals(AffineCoefficients.of(new double[] {0}, new double[] {4}, NONE, NONE, 0.0, false,
                true)), "the same numbers, but x * a instead of (x - 0) * a + 0");
    }

    @Test
    void lengthsAndEpsilonAreValidated() {
        assertEquals("gamma has 2 values but there are 1 features", assertThrows(IllegalArgumentException.class,
                () -> AffineCoefficients.of(new double[] {0}, new double[] {1}, new double[] {1, 1}, NONE, 0, true, true))
                .getMessage());
        assertEquals("epsilon must be finite and >= 0 but was -1.0", assertThrows(IllegalArgumentException.class,
                () -> AffineCoefficients.of(new double[] {0}, new double[] {1}, NONE, NONE, -1, true, true))
                .getMessage());
    }
}
