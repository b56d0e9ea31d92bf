package io.github.batchnorm.jobs;

/** The output format: the option, else the output path's extension, else the input's format. */
final class OutputFormats {
    private OutputFormats() {
    }

    static String choose(TableIO io, String output, String explicit, String inputFormat) {
        if (explicit != null) {
            return io.detectFormat(output, explicit);
        }
        try {
            return io.detectFormat(output, null);
        } catch (UsageException unknownFromName) {
            return inputFormat;
        }
    }
}
