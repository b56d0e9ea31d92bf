package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.batchnorm.testing.Data;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("ExactSum and ExactValue")
class ExactSumTest {

    private static BigDecimal exact(ExactValue value) {
        BigDecimal mantissa = new BigDecimal(value.mantissa());
        int exponent = value.exponent();
        return exponent >= 0 ? mantissa.multiply(new BigDecimal(java.math.BigInteger.TWO.pow(exponent)))
                : mantissa.divide(new BigDecimal(java.math.BigInteger.TWO.pow(-exponent)));
    }

    /** Values over the whole double range, both signs, with subnormals and exact cancellations. */
    private static List<Double> awkwardValues(long seed, int n) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double magnitude = Math.pow(10, random.nextDouble(-300, 300));
            double x = (random.nextBoolean() ? 1 : -1) * magnitude * random.nextDouble();
            values.add(x);
            if (i % 10 == 0) {
                values.add(-x);
            }
            if (i % 50 == 0) {
                values.add(Double.MIN_VALUE * random.nextInt(1, 1000));
            }
        }
        return values;
    }

    @Test
    void sumsAreExactOverTheWholeDoubleRange() {
        List<Double> values = awkwardValues(1, 3000);
        ExactSum sum = new ExactSum();
        BigDecimal reference = BigDecimal.ZERO;
        for (double x : values) {
            sum.add(x);
            reference = reference.add(new BigDecimal(x));
        }
        assertEquals(0, reference.compareTo(exact(sum.value())));
    }

    @Test
    void productsAndSquaresAreExactIncludingTinyAndHugeOperands() {
        SplittableRandom random = new SplittableRandom(2);
        ExactSum products = new ExactSum();
        ExactSum squares = new ExactSum();
        ExactSum weightedSquares = new ExactSum();
        BigDecimal productReference = BigDecimal.ZERO;
        BigDecimal squareReference = BigDecimal.ZERO;
        BigDecimal weightedReference = BigDecimal.ZERO;
        for (int i = 0; i < 2000; i++) {
            double x = (random.nextBoolean() ? 1 : -1) * Math.pow(10, random.nextDouble(-160, 150)) * random.nextDouble();
            double w = Math.pow(10, random.nextDouble(-5, 5)) * random.nextDouble();
            products.addProduct(w, x);
            squares.addSquare(x);
            weightedSquares.addWeightedSquare(w, x);
            BigDecimal bx = new BigDecimal(x);
            BigDecimal bw = new BigDecimal(w);
            productReference = productReference.add(bw.multiply(bx));
            squareReference = squareReference.add(bx.multiply(bx));
            weightedReference = weightedReference.add(bw.multiply(bx).multiply(bx));
        }
        assertEquals(0, productReference.compareTo(exact(products.value())));
        assertEquals(0, squareReference.compareTo(exact(squares.value())));
        assertEquals(0, weightedReference.compareTo(exact(weightedSquares.value())));
    }

    @Test
    void theResultDoesNotDependOnOrderOrOnHowPartsAreMerged() {
        List<Double> values = awkwardValues(3, 2000);
        ExactSum inOrder = new ExactSum();
        values.forEach(inOrder::add);
        List<Double> shuffled = new ArrayList<>(values);
        Collections.shuffle(shuffled, new Random(4));
        ExactSum left = new ExactSum();
        ExactSum middle = new ExactSum();
        ExactSum right = new ExactSum();
        for (int i = 0; i < shuffled.size(); i++) {
            (i % 3 == 0 ? left : i % 3 == 1 ? middle : right).add(shuffled.get(i));
        }
        ExactSum leftFirst = new ExactSum().merge(left).merge(middle).merge(right);
        ExactSum rightFirst = new ExactSum().merge(right).merge(new ExactSum().merge(middle).merge(left));
        assertEquals(inOrder.value(), leftFirst.value());
        assertEquals(inOrder.value(), rightFirst.value());
    }

    @Test
    void carriesPropagateWithoutChangingTheValue() {
        List<Double> values = awkwardValues(5, 1500);
        ExactSum frequentCarries = new ExactSum(3);
        ExactSum rareCarries = new ExactSum();
        ExactSum mergedFrequently = new ExactSum(3);
        for (double x : values) {
            frequentCarries.add(x);
            frequentCarries.addSquare(x * 1e-3);
            rareCarries.add(x);
            rareCarries.addSquare(x * 1e-3);
            ExactSum single = new ExactSum(3);
            single.add(x);
            single.addSquare(x * 1e-3);
            mergedFrequently.merge(single);
        }
        assertEquals(rareCarries.value(), frequentCarries.value());
        assertEquals(rareCarries.value(), mergedFrequently.value());
    }

    @Test
    void conversionToDoubleRoundsOnceToNearestEven() {
        SplittableRandom random = new SplittableRandom(6);
        for (int i = 0; i < 2000; i++) {
            ExactSum sum = new ExactSum();
            BigDecimal reference = BigDecimal.ZERO;
            for (int k = 0; k < 5; k++) {
                double x = (random.nextBoolean() ? 1 : -1) * Math.pow(2, random.nextInt(-60, 60)) * random.nextDouble();
                sum.add(x);
                reference = reference.add(new BigDecimal(x));
            }
            // parseDouble is correctly rounded; 60 significant digits leave no double-rounding ambiguity here.
            double expected = Double.parseDouble(reference.round(new MathContext(60)).toString());
            assertEquals(expected, sum.toDouble(), "sum " + i);
        }
        ExactValue halfway = ExactValue.of(1.0).add(ExactValue.of(Math.ulp(1.0) / 2));
        assertEquals(1.0, halfway.toDouble(), "ties go to even");
        ExactValue aboveHalfway = halfway.add(ExactValue.of(Double.MIN_VALUE));
        assertEquals(Math.nextUp(1.0), aboveHalfway.toDouble());
        assertEquals(Double.MIN_VALUE, ExactValue.of(Double.MIN_VALUE).toDouble());
        assertEquals(Double.POSITIVE_INFINITY, ExactValue.of(Double.MAX_VALUE).add(ExactValue.of(Double.MAX_VALUE))
                .toDouble());
    }

    @Test
    void divisionIsCorrectlyRounded() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 2000; i++) {
            double a = Data.gaussian(random) * Math.pow(10, random.nextInt(-20, 20));
            double b = Data.gaussian(random) * Math.pow(10, random.nextInt(-20, 20));
            BigDecimal quotient = new BigDecimal(a).divide(new BigDecimal(b), new MathContext(60));
            assertEquals(Double.parseDouble(quotient.toString()), ExactValue.of(a).divideToDouble(ExactValue.of(b)),
                    a + " / " + b);
        }
        assertThrows(ArithmeticException.class, () -> ExactValue.of(1).divideToDouble(ExactValue.ZERO));
    }

    @Test
    void nonFiniteValuesAreRejected() {
        ExactSum sum = new ExactSum();
        assertEquals("cannot sum a non-finite value: NaN",
                assertThrows(IllegalArgumentException.class, () -> sum.add(Double.NaN)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> sum.addSquare(Double.POSITIVE_INFINITY));
        assertEquals(ExactValue.ZERO, sum.value());
    }
}
