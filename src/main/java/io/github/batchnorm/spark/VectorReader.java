package io.github.batchnorm.spark;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.catalyst.util.ArrayData;

/**
 * Reads a Vector column as Spark stores it, a struct of (type: 0 sparse / 1 dense, size, indices, values), without
 * building a Vector or allocating per row: for the usual {@code UnsafeRow} input, one reusable struct and two reusable
 * array views are pointed at the row's bytes. One instance per task; not thread-safe.
 */
final class VectorReader {
    private static final int SPARSE = 0;

    private final UnsafeRow struct = new UnsafeRow(4);
    private final UnsafeArrayData indices = new UnsafeArrayData();
    private final UnsafeArrayData values = new UnsafeArrayData();
    private InternalRow current;
    private ArrayData currentIndices;
    private ArrayData currentValues;

    /** Points this reader at the vector in column {@code ordinal} of {@code row}; returns false if it is null. */
    boolean read(InternalRow row, int ordinal) {
        if (row.isNullAt(ordinal)) {
            return false;
        }
        if (row instanceof UnsafeRow) {
            UnsafeRow unsafe = (UnsafeRow) row;
            long offsetAndSize = unsafe.getLong(ordinal);
            struct.pointTo(unsafe.getBaseObject(), unsafe.getBaseOffset() + (offsetAndSize >> 32), (int) offsetAndSize);
            current = struct;
            currentValues = pointArray(values, 3);
            currentIndices = isDense() ? null : pointArray(indices, 2);
        } else {
            current = row.getStruct(ordinal, 4);
            currentValues = current.getArray(3);
            currentIndices = isDense() ? null : current.getArray(2);
        }
        return true;
    }

    private ArrayData pointArray(UnsafeArrayData view, int field) {
        long offsetAndSize = struct.getLong(field);
        view.pointTo(struct.getBaseObject(), struct.getBaseOffset() + (offsetAndSize >> 32), (int) offsetAndSize);
        return view;
    }

    boolean isDense() {
        return current.getByte(0) != SPARSE;
    }

    /** The vector's size: its number of features. */
    int size() {
        return isDense() ? currentValues.numElements() : current.getInt(1);
    }

    /** The stored values: all of them for a dense vector, the non-zeros for a sparse one. */
    ArrayData values() {
        return currentValues;
    }

    /** The indices of a sparse vector's stored values; null for a dense vector. */
    ArrayData indices() {
        return currentIndices;
    }
}
