package io.github.batchnorm.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.Data;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.UserDefinedType;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The readers of Spark's internal row and array layouts, against the layouts the running Spark line writes. They read
 * bytes at offsets Spark does not promise to keep, so this runs on every supported line (the suite does, per profile):
 * a layout change shows here as a wrong value, not as a silently wrong statistic. The rows are written by Spark's own
 * code (its Vector type's serializer and an {@code UnsafeProjection}), the expected values are the Vectors and arrays
 * the rows were made from.
 */
@DisplayName("Internal row and array readers on this Spark line's layouts")
class InternalReadersTest {
    private static final DataType VECTOR = SQLDataTypes.VectorType();
    private static final DataType NULLABLE_DOUBLES = DataTypes.createArrayType(DataTypes.DoubleType, true);

    @SuppressWarnings("unchecked")
    private static InternalRow vectorStruct(Vector vector) {
        return (InternalRow) ((UserDefinedType<Vector>) VECTOR).serialize(vector);
    }

    /** A one-column row holding {@code vector} as Spark's Vector struct, generic or in Spark's binary layout. */
    private static InternalRow vectorRow(Vector vector, boolean unsafe) {
        InternalRow generic = new GenericInternalRow(new Object[] {vector == null ? null : vectorStruct(vector)});
        return unsafe ? UnsafeProjection.create(new DataType[] {VECTOR}).apply(generic).copy() : generic;
    }

    private static double[] doubles(ArrayData array) {
        double[] values = new double[array.numElements()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.getDouble(i);
        }
        return values;
    }

    private static int[] ints(ArrayData array) {
        int[] values = new int[array.numElements()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.getInt(i);
        }
        return values;
    }

    private static void assertSameBits(double[] expected, double[] actual, int size, String what) {
        for (int i = 0; i < size; i++) {
            assertEquals(Double.doubleToRawLongBits(expected[i]), Double.doubleToRawLongBits(actual[i]),
                    what + ": element " + i);
        }
    }

    private static void assertReads(Vector vector, boolean unsafe) {
        InternalRow row = vectorRow(vector, unsafe);
        if (unsafe) {
            assertInstanceOf(UnsafeRow.class, row, "the in-place path needs Spark's binary row");
        }
        VectorReader reader = new VectorReader();
        assertTrue(reader.read(row, 0));
        String what = (unsafe ? "unsafe " : "generic ") + vector;
        assertEquals(vector.size(), reader.size(), what);
        if (vector instanceof SparseVector) {
            SparseVector sparse = (SparseVector) vector;
            assertFalse(reader.isDense(), what);
            assertArrayEquals(sparse.indices(), ints(reader.indices()), what);
            assertSameBits(sparse.values(), doubles(reader.values()), sparse.values().length, what);
        } else {
            assertTrue(reader.isDense(), what);
            assertNull(reader.indices(), what);
            assertSameBits(vector.toArray(), doubles(reader.values()), vector.size(), what);
        }
    }

    @Test
    @DisplayName("dense and sparse Vectors read in place from binary rows and from generic rows, bit for bit")
    void readsVectors() {
        double[][] dense = Data.dense(151, 6, 70);
        double[][] sparse = Data.sparse(152, 6, 70, 0.1);
        for (boolean unsafe : new boolean[] {true, false}) {
            for (int i = 0; i < dense.length; i++) {
                assertReads(Vectors.dense(dense[i]), unsafe);
                assertReads(Vectors.dense(sparse[i]).toSparse(), unsafe);
            }
            assertReads(Vectors.dense(new double[0]), unsafe);
            assertReads(Vectors.sparse(5, new int[0], new double[0]), unsafe);
            assertReads(Vectors.dense(-0.0, Double.NaN, Double.MIN_VALUE, Double.NEGATIVE_INFINITY), unsafe);
        }
    }

    @Test
    @DisplayName("one reader follows row after row: each read shows that row's vector only")
    void readerIsReusedAcrossRows() {
        VectorReader reader = new VectorReader();
        Vector wide = Vectors.dense(1, 2, 3, 4, 5, 6);
        Vector sparse = Vectors.sparse(9, new int[] {2, 7}, new double[] {-1.5, 8});
        Vector narrow = Vectors.dense(9.5);
        for (Vector vector : new Vector[] {wide, sparse, narrow, sparse, wide}) {
            assertTrue(reader.read(vectorRow(vector, true), 0));
            assertEquals(vector.size(), reader.size());
            assertArrayEquals(vector.toSparse().values(), vector instanceof SparseVector
                    ? doubles(reader.values()) : Arrays.stream(doubles(reader.values())).filter(v -> v != 0).toArray());
        }
    }

    @Test
    @DisplayName("a null vector is reported as absent in both row kinds")
    void nullVector() {
        VectorReader reader = new VectorReader();
        assertFalse(reader.read(vectorRow(null, true), 0));
        assertFalse(reader.read(vectorRow(null, false), 0));
    }

    /** Sizes around the null-bit words of the array header: 64 elements per word. */
    private static final int[] SIZES = {0, 1, 63, 64, 65, 128, 129};

    @Test
    @DisplayName("arrays without nulls are copied bit for bit, from Spark's binary arrays and generic ones")
    void copiesArraysWithoutNulls() {
        SplittableRandom random = new SplittableRandom(153);
        for (int size : SIZES) {
            double[] values = new double[size];
            for (int i = 0; i < size; i++) {
                values[i] = Data.gaussian(random) * Math.pow(10, random.nextInt(-300, 300));
            }
            Object[] boxed = Arrays.stream(values).boxed().toArray();
            ArrayData[] arrays = {UnsafeArrayData.fromPrimitiveArray(values), unsafeArray(boxed), new GenericArrayData(boxed)};
            for (ArrayData array : arrays) {
                double[] into = new double[size + 1];
                into[size] = 42;
                assertTrue(InternalArrays.copyNonNullDoubles(array, size, into), array.getClass() + " size " + size);
                assertSameBits(values, into, size, array.getClass() + " size " + size);
                assertEquals(42, into[size], "nothing past the size is written");
            }
        }
    }

    private static ArrayData unsafeArray(Object[] elements) {
        InternalRow row = new GenericInternalRow(new Object[] {new GenericArrayData(elements)});
        UnsafeRow unsafe = UnsafeProjection.create(new DataType[] {NULLABLE_DOUBLES}).apply(row);
        ArrayData array = unsafe.getArray(0);
        assertInstanceOf(UnsafeArrayData.class, array);
        return array.copy();
    }

    @Test
    @DisplayName("an array with a null anywhere, in any header word, is refused so the caller reads element by element")
    void refusesArraysWithNulls() {
        for (int size : SIZES) {
            for (int nullAt : new int[] {0, 62, 63, 64, 65, 127, 128, size - 1}) {
                if (nullAt < 0 || nullAt >= size) {
                    continue;
                }
                Object[] elements = new Object[size];
                Arrays.fill(elements, 1.0);
                elements[nullAt] = null;
                for (ArrayData array : new ArrayData[] {unsafeArray(elements), new GenericArrayData(elements)}) {
                    assertTrue(array.isNullAt(nullAt));
                    assertFalse(InternalArrays.copyNonNullDoubles(array, size, new double[size]),
                            array.getClass() + " size " + size + " null at " + nullAt);
                }
            }
        }
    }

    @Test
    @DisplayName("allFinite agrees with Double.isFinite for NaN, infinities and the extreme finite values anywhere")
    void allFinite() {
        double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
            Double.longBitsToDouble(0x7FF0_0000_0000_0001L), Double.longBitsToDouble(0xFFF8_0000_0000_0000L),
            Double.MAX_VALUE, -Double.MAX_VALUE, Double.MIN_VALUE, Double.MIN_NORMAL, -0.0, 0.0};
        for (int size : SIZES) {
            for (int at = 0; at < size; at += Math.max(1, size / 5)) {
                for (double special : specials) {
                    double[] values = new double[size + 1];
                    Arrays.fill(values, 0, size, 1.5);
                    values[at] = special;
                    values[size] = Double.NaN;
                    boolean expected = Arrays.stream(values, 0, size).allMatch(Double::isFinite);
                    assertEquals(expected, InternalArrays.allFinite(values, size), special + " at " + at + " of " + size);
                }
            }
        }
    }
}
