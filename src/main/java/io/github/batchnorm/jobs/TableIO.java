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
    private final java.io.PrintWriter notes;

    TableIO(SparkSession spark) {
        this(spark, null);
    }

    /** @param notes where lines that are neither results nor errors go (the error stream), or null for nowhere */
    TableIO(SparkSession spark, java.io.PrintWriter notes) {
        this.spark = spark;
        this.notes = notes;
    }

    /** Prints one line of information about the run, not about its result. */
    void note(String line) {
        if (notes != null) {
            notes.println("batchnorm: " + line);
            notes.flush();
        }
    }

    Configuration hadoopConfiguration() {
        return spark.sparkContext().hadoopConfiguration();
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

    /** A path a subcommand reads or writes, under the option that named it. */
    record Place(String option, String path, boolean written) {
        static Place read(String option, String path) {
            return new Place(option, path, false);
        }

        static Place written(String option, String path) {
            return new Place(option, path, true);
        }
    }

    /**
     * Fails, before any work, if a path that is written overlaps another path of the command: the same folder however
     * it is spelt (relative or absolute, a trailing slash, {@code ..}, a symbolic link), or one inside the other. Writing
     * replaces the whole folder, so an input inside an output (or an output inside an input) would be destroyed, even
     * with {@code --overwrite}. Places that are null are left out.
     */
    void requireSeparate(Place... places) {
        List<Place> given = new ArrayList<>();
        for (Place place : places) {
            if (place != null && place.path() != null) {
                given.add(place);
            }
        }
        List<List<String>> resolved = new ArrayList<>();
        for (Place place : given) {
            resolved.add(resolvedParts(place.path()));
        }
        for (int i = 0; i < given.size(); i++) {
            for (int k = 0; k < given.size(); k++) {
                Place written = given.get(i);
                Place other = given.get(k);
                if (i == k || !written.written() || (other.written() && k < i)) {
                    continue;
                }
                List<String> a = resolved.get(i);
                List<String> b = resolved.get(k);
                String relation = a.equals(b) ? "is the same folder as"
                        : startsWith(a, b) ? "is inside" : startsWith(b, a) ? "contains" : null;
                if (relation != null) {
                    throw new UsageException(written.option() + " '" + written.path() + "' " + relation + " "
                            + other.option() + " '" + other.path() + "': writing it would destroy "
                            + (other.written() ? "the other" : "the input") + "; choose separate paths"
                            + " (--overwrite does not change this).");
                }
            }
        }
    }

    private static boolean startsWith(List<String> path, List<String> prefix) {
        return path.size() > prefix.size() && path.subList(0, prefix.size()).equals(prefix);
    }

    /**
     * The path as scheme, authority and name parts, absolute and normalised; on the local file system with symbolic
     * links resolved as far as the path exists.
     */
    private List<String> resolvedParts(String path) {
        try {
            Path qualified = fileSystem(path).makeQualified(new Path(path));
            java.net.URI uri = qualified.toUri().normalize();
            String pathPart = uri.getPath();
            if ("file".equals(uri.getScheme())) {
                pathPart = realLocalPath(java.nio.file.Path.of(pathPart)).toString();
            }
            List<String> parts = new ArrayList<>();
            parts.add(String.valueOf(uri.getScheme()));
            parts.add(String.valueOf(uri.getAuthority()));
            for (String part : pathPart.split("/")) {
                if (!part.isEmpty()) {
                    parts.add(part);
                }
            }
            return parts;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static java.nio.file.Path realLocalPath(java.nio.file.Path path) throws IOException {
        java.nio.file.Path absolute = path.toAbsolutePath().normalize();
        java.nio.file.Path existing = absolute;
        while (existing != null && !java.nio.file.Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return absolute;
        }
        return existing.toRealPath().resolve(existing.relativize(absolute)).normalize();
    }

    /** Whether {@code path} holds a saved Spark ML stage (a {@code metadata} folder), as models and pipelines do. */
    boolean isModelDirectory(String path) {
        try {
            Path metadata = new Path(path, "metadata");
            return fileSystem(path).exists(metadata);
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
        requireNotModel(path);
        Dataset<Row> output = format.equals("csv") ? flattenForCsv(table) : table;
        writeAtomically(path, overwrite, "Output", temporary -> {
            var writer = output.write().format(format);
            if (format.equals("csv")) {
                writer = writer.option("header", "true");
            }
            writer.save(temporary);
        });
    }

    /** An output never replaces a saved model, whatever {@code --overwrite} says. */
    void requireNotModel(String outputPath) {
        if (exists(outputPath) && isModelDirectory(outputPath)) {
            throw new UsageException("Output '" + outputPath + "' holds a saved model; a table never replaces a model,"
                    + " even with --overwrite. Choose another output path.");
        }
    }

    /** A model replaces only a model (or an empty folder), never a table or other files, whatever --overwrite says. */
    void requireModelOrAbsent(String modelPath) {
        try {
            if (!exists(modelPath) || isModelDirectory(modelPath)) {
                return;
            }
            FileSystem fs = fileSystem(modelPath);
            Path target = new Path(modelPath);
            if (fs.getFileStatus(target).isDirectory() && fs.listStatus(target).length == 0) {
                return;
            }
            throw new UsageException("Model path '" + modelPath + "' holds something that is not a saved model; a model"
                    + " never replaces other files, even with --overwrite. Choose another model path.");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes with {@code writeTo} into a temporary sibling of {@code path}, then renames it into place. */
    void writeAtomically(String path, boolean overwrite, String what, java.util.function.Consumer<String> writeTo) {
        requireWritable(path, overwrite, what);
        List<String> removed;
        try {
            removed = AtomicDirectory.write(path, spark.sparkContext().hadoopConfiguration(), overwrite, writeTo);
        } catch (AtomicDirectory.TargetExistsException e) {
            throw new UsageException(what + " " + e.getMessage());
        }
        removed.forEach(this::note);
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
