package io.github.batchnorm.jobs;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Option;

/** {@code --input}, {@code --format} and {@code --schema}: the table a subcommand reads. */
final class InputTableOptions {
    @Option(names = "--input", required = true, paramLabel = "PATH", description = "The table to read.")
    String path;

    @Option(names = "--format", paramLabel = "F", description = "csv, parquet, orc or json; default: from the path.")
    String format;

    @Option(names = "--schema", paramLabel = "DDL", description = "Schema of the input, e.g. 'age INT, salary DOUBLE';"
            + " default: CSV types are inferred.")
    String schema;

    /** The input's format: the option, else what the path tells. */
    String format(TableIO io) {
        return io.detectFormat(path, format);
    }

    Dataset<Row> read(TableIO io) {
        return io.read(path, format(io), schema);
    }
}
