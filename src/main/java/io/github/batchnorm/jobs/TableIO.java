package io.github.batchnorm.jobs;

import io.github.batchnorm.spark.AtomicDirectory;
import io.github.batchnorm.spark.ColumnNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.functions;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.StructField;

/**
 * Reading and writing tables and models on any Hadoop file system (local paths by default), with the format taken from
 * an option or the path, and with writes that are all-or-nothing.
 */
final class TableIO {
    static final List<String> FORMATS = List.of("csv", "parquet", "orc", "json");

    private final SparkSession spark;

    TableIO(SparkSession spark) {
        this.spark = spark;
    }

    /** The format named by {@code explicit}, else by the path's extension, else by the extension of the files inside it. */
    String detectFormat(String path, String explicit) {
        if (explicit != null) {
            String format = explicit.toLowerCase(Locale.ROOT);
            if (!FORMATS.contains(format)) {
                throw new UsageException("Unknown format '" + explicit + "': use one of " + String.join(", ", FORMATS) + ".");
            }
            return format;
        }
        String fromName = extensionFormat(new Path(path).getName());
        if (fromName != null) {
            return fromName;
        }
        try {
            FileSystem fs = fileSystem(path);
            Path directory = new Path(path);
            if (fs.exists(directory) && fs.getFileStatus(directory).isDirectory()) {
                for (FileStatus file : fs.listStatus(directory)) {
                    String inside = extensionFormat(file.getPath().getName());
                    if (inside != null) {
                        return inside;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new UsageException("Cannot tell the format of '" + path + "' from its name: add --format (one of "
                + String.join(", ", FORMATS) + ").");
    }

    private static String extensionFormat(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        for (String format : FORMATS) {
            if (lower.endsWith("." + format) || lower.contains("." + format + ".")) {
                return format;
            }
        }
        return null;
    }

    /** Reads a table; CSV has a header row and inferred numeric types unless a DDL schema is given. */
    Dataset<Row> read(String path, String format, String schemaDdl) {
        requireExists(path);
        DataFrameReader reader = spark.read().format(format);
        if (format.equals("csv")) {
            reader = reader.option("header", "true").option("mode", "FAILFAST");
            if (schemaDdl == null) {
                reader = reader.option("inferSchema", "true");
            }
        }
        if (schemaDdl != null) {
            reader = reader.schema(schemaDdl);
        }
        return reader.load(path);
    }

    boolean exists(String path) {
        try {
            return fileSystem(path).exists(new Path(path));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The whole of a (small) text file, in UTF-8. */
    String readText(String path) {
        requireExists(path);
        try (var in = fileSystem(path).open(new Path(path))) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void requireExists(String path) {
        try {
            if (!fileSystem(path).exists(new Path(path))) {
                throw new UsageException("Input path '" + path + "' does not exist.");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Fails unless {@code path} is free or may be replaced. */
    void requireWritable(String path, boolean overwrite, String what) {
        try {
            if (!overwrite && fileSystem(path).exists(new Path(path))) {
                throw new UsageException(what + " '" + path + "' already exists; pass --overwrite to replace it.");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes a table all-or-nothing: into a hidden sibling directory first, renamed into place only when complete. CSV
     * cannot hold vectors or arrays, so each such column {@code c} is written as columns {@code c_0 .. c_{n-1}}.
     */
    void writeTable(Dataset<Row> table, String path, String format, boolean overwrite) {
        Dataset<Row> output = format.equals("csv") ? flattenForCsv(table) : table;
        writeAtomically(path, overwrite, "Output", temporary -> {
            var writer = output.write().format(format);
            if (format.equals("csv")) {
                writer = writer.option("header", "true");
            }
            writer.save(temporary);
        });
    }

    /** Writes with {@code writeTo} into a temporary sibling of {@code path}, then renames it into place. */
    void writeAtomically(String path, boolean overwrite, String what, java.util.function.Consumer<String> writeTo) {
        requireWritable(path, overwrite, what);
        AtomicDirectory.write(path, spark.sparkContext().hadoopConfiguration(), writeTo);
    }

    /** Puts back a directory that a crashed replacement left moved aside, and removes leftovers; see {@link AtomicDirectory}. */
    void recover(String path) {
        AtomicDirectory.recover(path, spark.sparkContext().hadoopConfiguration());
    }

    private static Dataset<Row> flattenForCsv(Dataset<Row> table) {
        List<Column> columns = new ArrayList<>();
        for (StructField field : table.schema().fields()) {
            Column column = ColumnNames.col(field.name());
            if (field.dataType().equals(SQLDataTypes.VectorType()) || field.dataType() instanceof ArrayType) {
                Column array = field.dataType() instanceof ArrayType ? column : functions.vector_to_array(column, "float64");
                int size = sizeOf(table, field.name(), array);
                for (int i = 0; i < size; i++) {
                    columns.add(array.getItem(i).as(field.name() + "_" + i));
                }
            } else {
                columns.add(column);
            }
        }
        return table.select(columns.toArray(new Column[0]));
    }

    /** The number of elements of a vector or array column, from its first non-null row. */
    private static int sizeOf(Dataset<Row> table, String name, Column array) {
        List<Row> first = table.select(org.apache.spark.sql.functions.size(array)).where(
                ColumnNames.col(name).isNotNull()).limit(1).collectAsList();
        return first.isEmpty() ? 0 : first.get(0).getInt(0);
    }

    private FileSystem fileSystem(String path) throws IOException {
        Configuration configuration = spark.sparkContext().hadoopConfiguration();
        return new Path(path).getFileSystem(configuration);
    }
}
