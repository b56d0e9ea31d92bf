package io.github.batchnorm.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * All-or-nothing directories on any Hadoop file system: a directory is written into a hidden temporary sibling
 * ({@code .<name>.tmp-<uuid>}) and renamed into place only when complete, so a reader never sees a half-written one.
 *
 * <p>Replacing an existing directory takes two renames (Hadoop's rename does not replace a directory): the old one is moved
 * aside to {@code .<name>.old-<uuid>}, the new one into place, then the old one is deleted. A crash between the two
 * renames leaves no directory at the path but a complete old one beside it; {@link #recover} puts it back. One writer per
 * path at a time.
 */
public final class AtomicDirectory {
    private static final String TEMPORARY = ".tmp-";
    private static final String PREVIOUS = ".old-";

    private AtomicDirectory() {
    }

    /**
     * Writes a directory with {@code writeTo} (given the temporary path to write to) and moves it to {@code path},
     * replacing what is there. If {@code writeTo} fails, the temporary directory is deleted and {@code path} is untouched.
     */
    public static void write(String path, Configuration configuration, Consumer<String> writeTo) {
        Path target = new Path(path);
        try {
            FileSystem fs = target.getFileSystem(configuration);
            Path parent = parentOf(target);
            fs.mkdirs(parent);
            Path temporary = new Path(parent, "." + target.getName() + TEMPORARY + UUID.randomUUID());
            try {
                writeTo.accept(temporary.toString());
            } catch (RuntimeException e) {
                fs.delete(temporary, true);
                throw e;
            }
            Path previous = null;
            if (fs.exists(target)) {
                previous = new Path(parent, "." + target.getName() + PREVIOUS + UUID.randomUUID());
                if (!fs.rename(target, previous)) {
                    fs.delete(temporary, true);
                    throw new IOException("could not move the existing '" + path + "' aside");
                }
            }
            if (!fs.rename(temporary, target)) {
                if (previous != null) {
                    fs.rename(previous, target);
                }
                fs.delete(temporary, true);
                throw new IOException("could not rename the finished output into '" + path + "'");
            }
            if (previous != null) {
                fs.delete(previous, true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Cleans up after a writer that crashed: if {@code path} is missing but a complete previous version was moved aside,
     * moves it back; then deletes leftover temporary and previous siblings. Returns whether {@code path} exists afterwards.
     */
    public static boolean recover(String path, Configuration configuration) {
        Path target = new Path(path);
        try {
            FileSystem fs = target.getFileSystem(configuration);
            Path parent = parentOf(target);
            if (!fs.exists(parent)) {
                return false;
            }
            String previousPrefix = "." + target.getName() + PREVIOUS;
            String temporaryPrefix = "." + target.getName() + TEMPORARY;
            for (FileStatus sibling : fs.listStatus(parent)) {
                String name = sibling.getPath().getName();
                if (name.startsWith(previousPrefix) && !fs.exists(target)) {
                    // Only a complete directory is ever moved aside, so it is the last good version.
                    fs.rename(sibling.getPath(), target);
                } else if (name.startsWith(previousPrefix) || name.startsWith(temporaryPrefix)) {
                    fs.delete(sibling.getPath(), true);
                }
            }
            return fs.exists(target);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path parentOf(Path target) {
        return target.getParent() == null ? new Path(".") : target.getParent();
    }
}
