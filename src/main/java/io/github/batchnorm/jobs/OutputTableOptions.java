package io.github.batchnorm.jobs;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Option;

/** {@code --output} and {@code --output-format}: the table a subcommand writes. */
final class OutputTableOptions {
    @Option(names = "--output", required = true, paramLabel = "PATH", description = "Where to write the result.")
    String path;

    @Option(names = "--output-format", paramLabel = "F", description = "Output format; default: from the output path,"
            + " else the input format.")
    String format;

    /** Writes all-or-nothing, in the format the option, the output path or else the input's format gives. */
    void write(TableIO io, Dataset<Row> table, String inputFormat, boolean overwrite) {
        io.writeTable(table, path, chooseFormat(io, inputFormat), overwrite);
    }

    private String chooseFormat(TableIO io, String inputFormat) {
        if (format != null) {
            return io.detectFormat(path, format);
        }
        try {
            return io.detectFormat(path, null);
        } catch (UsageException unknownFromName) {
            return inputFormat;
        }
    }
}
