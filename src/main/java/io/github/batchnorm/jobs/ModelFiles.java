package io.github.batchnorm.jobs;

import io.github.batchnorm.BatchNormalizationModel;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Saving and loading models all-or-nothing. */
final class ModelFiles {
    private ModelFiles() {
    }

    /** Saves into a hidden temporary sibling and renames it into place. */
    static void save(TableIO io, BatchNormalizationModel model, String path, boolean overwrite) {
        io.requireModelOrAbsent(path);
        io.writeAtomically(path, overwrite, "Model", temporary -> {
            try {
                model.save(temporary);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    static BatchNormalizationModel load(TableIO io, String path) {
        io.requireExists(path);
        try {
            return BatchNormalizationModel.load(path);
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            throw new UsageException("'" + path + "' is not a readable batchnorm model: " + e.getMessage());
        }
    }
}
