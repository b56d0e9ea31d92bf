package io.github.batchnorm.jobs;

import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.spark.ModelDirectory;
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

    /**
     * Loads the model at {@code path} (or the one model stage of a pipeline saved there, saying so), or fails with one
     * line that says what the folder holds instead.
     */
    static BatchNormalizationModel load(TableIO io, String path) {
        ModelDirectory.Location location = locate(io, path);
        if (location.note() != null) {
            io.note(location.note());
        }
        try {
            return BatchNormalizationModel.load(location.path());
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new UsageException("'" + path + "' is not a readable batchnorm model: " + e.getMessage(), e);
        }
    }

    /** Where the model to load from {@code path} is: the folder itself, or a stage of the pipeline saved there. */
    static ModelDirectory.Location locate(TableIO io, String path) {
        try {
            return ModelDirectory.locate(path, BatchNormalizationModel.class.getName(), io.hadoopConfiguration());
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
