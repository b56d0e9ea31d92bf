package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("AffineCoefficients")
class AffineCoefficientsTest {
    private static final double[] NONE = new double[0];

    @Test
    void scaleAndShiftFollowTheClosedForm() {
        // mean 3, variance 4 - 0.0 epsilon -> a = 2 / 2 = 1, b = 0.5 - 1 * 3 = -2.5
        AffineCoefficients affine = AffineCoefficients.of(new double[] {3}, new double[] {4}, new double[] {2},
                new double[] {0.5}, 0.0, true, true);
        assertArrayEquals(new double[] {1.0}, affine.scale());
        assertArrayEquals(new double[] {-2.5}, affine.shift());
        double[] out = new double[1];
        affine.applyDense(new double[] {5}, out);
        assertEquals(2.5, out[0]);
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
    }

    @Test
    void switchingOffCenterDropsMeanAndBetaAndSwitchingOffScaleDropsVarianceAndGamma() {
        double[] mean = {10};
        double[] variance = {4};
        double[] gamma = {3};
        double[] beta = {1};
        AffineCoefficients noCenter = AffineCoefficients.of(mean, variance, gamma, beta, 0.0, false, true);
        assertArrayEquals(new double[] {1.5}, noCenter.scale());
        assertArrayEquals(new double[] {0.0}, noCenter.shift());
        AffineCoefficients noScale = AffineCoefficients.of(mean, variance, gamma, beta, 0.0, true, false);
        assertArrayEquals(new double[] {1.0}, noScale.scale());
        assertArrayEquals(new double[] {-9.0}, noScale.shift());
    }

    @Test
    void sparseRowsGiveTheSameNumbersAsTheirDenseForm() {
        AffineCoefficients affine = AffineCoefficients.of(new double[] {1, 2, 3, 4}, new double[] {1, 4, 9, 16},
                new double[] {1, 2, 3, 4}, new double[] {-1, 0, 1, 2}, 1e-5, true, true);
        double[] dense = new double[4];
        affine.applyDense(new double[] {0, 5, 0, -2}, dense);
        double[] fromSparse = new double[4];
        affine.applySparseToDense(new int[] {1, 3}, new double[] {5, -2}, fromSparse);
        assertArrayEquals(dense, fromSparse);
        double[] scaledOnly = new double[2];
        AffineCoefficients noCenter = AffineCoefficients.of(new double[] {1, 2, 3, 4}, new double[] {1, 4, 9, 16}, NONE,
                NONE, 0.0, false, true);
        noCenter.applySparseScaleOnly(new int[] {1, 3}, new double[] {5, -2}, scaledOnly);
        assertArrayEquals(new double[] {2.5, -0.5}, scaledOnly);
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
