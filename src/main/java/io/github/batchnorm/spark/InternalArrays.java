package io.github.batchnorm.spark;

import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.unsafe.Platform;

/**
 * Fast reads of Spark's internal arrays. A cached or scanned Vector column hands its values over as an
 * {@code UnsafeArrayData}: a header (length, then one null bit per element) followed by the raw doubles, which one
 * memory copy moves into a reusable buffer instead of one bounds-checked call per element.
 */
final class InternalArrays {
    private static final long EXPONENT_BITS = 0x7FF0_0000_0000_0000L;
    private static final long EXPONENT_ONE = 0x0010_0000_0000_0000L;

    private InternalArrays() {
    }

    /**
     * Copies the first {@code size} doubles of {@code array} into {@code into} if none of them is null; returns false,
     * leaving {@code into} undefined, if some are (the caller then reads element by element).
     */
    static boolean copyNonNullDoubles(ArrayData array, int size, double[] into) {
        if (array instanceof UnsafeArrayData) {
            UnsafeArrayData unsafe = (UnsafeArrayData) array;
            Object base = unsafe.getBaseObject();
            long offset = unsafe.getBaseOffset();
            long header = UnsafeArrayData.calculateHeaderPortionInBytes(size);
            for (long word = offset + 8; word < offset + header; word += 8) {
                if (Platform.getLong(base, word) != 0L) {
                    return false;
                }
            }
            Platform.copyMemory(base, offset + header, into, Platform.DOUBLE_ARRAY_OFFSET, 8L * size);
            return true;
        }
        for (int i = 0; i < size; i++) {
            if (array.isNullAt(i)) {
                return false;
            }
            into[i] = array.getDouble(i);
        }
        return true;
    }

    /**
     * Whether every value is finite. Branch-free integer work the JIT can vectorise: adding one to an exponent field
     * that is all ones (NaN or infinity) carries into the sign bit, and nothing else does.
     */
    static boolean allFinite(double[] values, int size) {
        long carries = 0L;
        for (int i = 0; i < size; i++) {
            carries |= (Double.doubleToRawLongBits(values[i]) & EXPONENT_BITS) + EXPONENT_ONE;
        }
        return carries >= 0L;
    }
}
