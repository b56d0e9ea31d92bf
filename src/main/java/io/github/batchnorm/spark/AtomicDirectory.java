package io.github.batchnorm.spark;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * All-or-nothing directories on any Hadoop file system: a directory is written inside a hidden temporary sibling
 * ({@code .<name>.tmp-<uuid>/content}) and renamed into place only when complete, so a reader never sees a half-written
 * one.
 *
 * <p>Replacing an existing directory takes two renames (Hadoop's rename does not replace a directory): the old one is moved
 * aside to {@code .<name>.old-<uuid>}, the new one into place, then the old one is deleted. A crash between the two
 * renames leaves no directory at the path but a complete old one beside it; {@link #recover} puts it back.
 *
 * <p>Several writers of one path, in threads or processes: each writes its own temporary sibling, and only the renames
 * into place take turns (a lock per path: an OS file lock on the local file system, an exclusively created lock file
 * elsewhere), so the path always holds one writer's complete directory. A writer that may not replace finds out under the
 * lock, and fails with {@link TargetExistsException}.
 *
 * <p>Each temporary sibling records its writer (host, process id, process start time) in a {@code writer} file, created
 * before the sibling gets its {@code .tmp-} name. A later write to the same path removes the temporary siblings whose
 * writer is gone (a process on this host that has ended) and reports them; it never removes a live writer's, nor one of
 * a writer on another host, whose liveness it cannot see.
 */
public final class AtomicDirectory {
    private static final String TEMPORARY = ".tmp-";
    private static final String STAGING = ".new-";
    private static final String PREVIOUS = ".old-";
    private static final String WRITER_FILE = "writer";
    private static final String CONTENT = "content";
    private static final long LOCK_TIMEOUT_MILLIS = TimeUnit.MINUTES.toMillis(10);
    private static final long STALE_STAGING_MILLIS = TimeUnit.HOURS.toMillis(1);
    private static final ConcurrentHashMap<String, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

    private AtomicDirectory() {
    }

    /** The path was written by another writer while this one worked, and this one may not replace it. */
    public static final class TargetExistsException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        TargetExistsException(String message) {
            super(message);
        }
    }

    /**
     * Writes a directory with {@code writeTo} (given the temporary path to write to) and moves it to {@code path},
     * replacing what is there. If {@code writeTo} fails, the temporary directory is deleted and {@code path} is untouched.
     *
     * @return one line for each leftover temporary sibling of a writer that is gone, removed on the way
     */
    public static List<String> write(String path, Configuration configuration, Consumer<String> writeTo) {
        return write(path, configuration, true, writeTo);
    }

    /**
     * As {@link #write(String, Configuration, Consumer)}; with {@code replace} false, fails with
     * {@link TargetExistsException} (and leaves {@code path} as it is) if {@code path} exists when the new directory is
     * ready.
     */
    public static List<String> write(String path, Configuration configuration, boolean replace,
            Consumer<String> writeTo) {
        Path target = new Path(path);
        try {
            FileSystem fs = target.getFileSystem(configuration);
            Path parent = parentOf(target);
            fs.mkdirs(parent);
            List<String> removed = removeLeftovers(fs, parent, target.getName());
            Path temporary = createTemporary(fs, parent, target.getName());
            Path content = new Path(temporary, CONTENT);
            try {
                writeTo.accept(content.toString());
            } catch (Exception e) {
                // Not only RuntimeException: Spark throws its checked SparkException (a failed write job on Spark 3.5)
                // from Scala code without declaring it. The rethrow is precise: nothing checked can reach it.
                fs.delete(temporary, true);
                throw e;
            }
            try (PathLock lock = lock(fs, target)) {
                moveIntoPlace(fs, parent, target, temporary, content, replace, path);
            }
            return removed;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void moveIntoPlace(FileSystem fs, Path parent, Path target, Path temporary, Path content,
            boolean replace, String path) throws IOException {
        Path previous = null;
        if (fs.exists(target)) {
            if (!replace) {
                fs.delete(temporary, true);
                throw new TargetExistsException("'" + path + "' was written by another job while this one ran; it is"
                        + " left as that job wrote it (pass --overwrite to replace it).");
            }
            previous = new Path(parent, "." + target.getName() + PREVIOUS + UUID.randomUUID());
            if (!fs.rename(target, previous)) {
                fs.delete(temporary, true);
                throw new IOException("could not move the existing '" + path + "' aside");
            }
        }
        if (!fs.rename(content, target)) {
            if (previous != null) {
                fs.rename(previous, target);
            }
            fs.delete(temporary, true);
            throw new IOException("could not rename the finished output into '" + path + "'");
        }
        fs.delete(temporary, true);
        if (previous != null) {
            fs.delete(previous, true);
        }
    }

    /**
     * Makes {@code .<name>.tmp-<uuid>} holding the writer file: written under another name first and renamed, so a
     * {@code .tmp-} sibling without a writer file is never a live writer's.
     */
    private static Path createTemporary(FileSystem fs, Path parent, String name) throws IOException {
        String id = UUID.randomUUID().toString();
        Path staging = new Path(parent, "." + name + STAGING + id);
        try (FSDataOutputStream out = fs.create(new Path(staging, WRITER_FILE), false)) {
            out.write(Writer.current().text().getBytes(StandardCharsets.UTF_8));
        }
        Path temporary = new Path(parent, "." + name + TEMPORARY + id);
        if (!fs.rename(staging, temporary)) {
            fs.delete(staging, true);
            throw new IOException("could not create the temporary folder '" + temporary + "'");
        }
        return temporary;
    }

    /**
     * Cleans up after a writer that crashed: if {@code path} is missing but a complete previous version was moved aside,
     * moves it back; then deletes leftover previous siblings and the temporary siblings of writers that are gone. Returns
     * whether {@code path} exists afterwards.
     */
    public static boolean recover(String path, Configuration configuration) {
        Path target = new Path(path);
        try {
            FileSystem fs = target.getFileSystem(configuration);
            Path parent = parentOf(target);
            if (!fs.exists(parent)) {
                return false;
            }
            try (PathLock lock = lock(fs, target)) {
                String previousPrefix = "." + target.getName() + PREVIOUS;
                for (FileStatus sibling : fs.listStatus(parent)) {
                    String name = sibling.getPath().getName();
                    if (name.startsWith(previousPrefix) && !fs.exists(target)) {
                        // Only a complete directory is ever moved aside, so it is the last good version.
                        fs.rename(sibling.getPath(), target);
                    } else if (name.startsWith(previousPrefix)) {
                        fs.delete(sibling.getPath(), true);
                    }
                }
            }
            removeLeftovers(fs, parent, target.getName());
            return fs.exists(target);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Removes the temporary siblings of {@code name} whose writer is gone; one line for each. */
    private static List<String> removeLeftovers(FileSystem fs, Path parent, String name) throws IOException {
        List<String> removed = new ArrayList<>();
        String temporaryPrefix = "." + name + TEMPORARY;
        String stagingPrefix = "." + name + STAGING;
        for (FileStatus sibling : fs.listStatus(parent)) {
            String siblingName = sibling.getPath().getName();
            if (siblingName.startsWith(temporaryPrefix)) {
                Optional<Writer> writer = readWriter(fs, new Path(sibling.getPath(), WRITER_FILE));
                if (writer.isEmpty() || !writer.get().mayBeAlive()) {
                    if (fs.delete(sibling.getPath(), true)) {
                        removed.add("Removed '" + sibling.getPath() + "', left by a writer that is gone ("
                                + writer.map(Writer::describe).orElse("writer unknown") + ").");
                    }
                }
            } else if (siblingName.startsWith(stagingPrefix)
                    && System.currentTimeMillis() - sibling.getModificationTime() > STALE_STAGING_MILLIS) {
                fs.delete(sibling.getPath(), true);
            }
        }
        return removed;
    }

    private static Optional<Writer> readWriter(FileSystem fs, Path file) {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
            Properties properties = new Properties();
            properties.load(reader);
            return Writer.parse(properties);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Who writes a temporary directory: enough to tell, on the same host, whether that process still runs. */
    record Writer(String host, long pid, String start) {
        static Writer current() {
            ProcessHandle self = ProcessHandle.current();
            return new Writer(hostName(), self.pid(), startOf(self));
        }

        static Optional<Writer> parse(Properties properties) {
            String host = properties.getProperty("host");
            String pid = properties.getProperty("pid");
            String start = properties.getProperty("start");
            if (host == null || pid == null || start == null) {
                return Optional.empty();
            }
            return Optional.of(new Writer(host, Long.parseLong(pid.trim()), start.trim()));
        }

        String text() {
            return "host=" + host + "\npid=" + pid + "\nstart=" + start + "\n";
        }

        String describe() {
            return "host " + host + ", process " + pid + " started " + start;
        }

        /** False only when the writer ran on this host and its process has ended (or its id now names another). */
        boolean mayBeAlive() {
            if (!host.equals(hostName())) {
                return true;
            }
            Optional<ProcessHandle> process = ProcessHandle.of(pid);
            return process.isPresent() && process.get().isAlive() && startOf(process.get()).equals(start);
        }

        private static String startOf(ProcessHandle process) {
            return process.info().startInstant().map(Object::toString).orElse("unknown");
        }

        private static String hostName() {
            try {
                return InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                return "localhost";
            }
        }
    }

    /** Held while a path's directory is swapped. */
    private interface PathLock extends AutoCloseable {
        @Override
        void close() throws IOException;
    }

    private static PathLock lock(FileSystem fs, Path target) throws IOException {
        String key = fs.makeQualified(target).toUri().normalize().toString();
        ReentrantLock inProcess = IN_PROCESS.computeIfAbsent(key, unused -> new ReentrantLock());
        inProcess.lock();
        try {
            PathLock acrossProcesses = "file".equals(fs.getScheme()) ? localLock(key) : lockFile(fs, target);
            return () -> {
                try {
                    acrossProcesses.close();
                } finally {
                    inProcess.unlock();
                }
            };
        } catch (IOException | RuntimeException e) {
            inProcess.unlock();
            throw e;
        }
    }

    /**
     * An OS lock on a file in the temporary directory named after the path: the OS releases it when the process dies,
     * and nothing is left beside the output. The lock file itself stays (deleting it would race with a waiting locker).
     */
    private static PathLock localLock(String key) throws IOException {
        java.nio.file.Path folder = java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "spark-batchnorm-locks");
        java.nio.file.Files.createDirectories(folder);
        FileChannel channel = FileChannel.open(folder.resolve(sha256(key) + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        try {
            FileLock lock = channel.lock();
            return () -> {
                try {
                    lock.release();
                } finally {
                    channel.close();
                }
            };
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** A lock file created exclusively beside the path (atomic on HDFS and object stores with conditional writes). */
    private static PathLock lockFile(FileSystem fs, Path target) throws IOException {
        Path file = new Path(parentOf(target), "." + target.getName() + ".lock");
        long deadline = System.currentTimeMillis() + LOCK_TIMEOUT_MILLIS;
        while (true) {
            try (FSDataOutputStream out = fs.create(file, false)) {
                out.write(Writer.current().text().getBytes(StandardCharsets.UTF_8));
                return () -> fs.delete(file, false);
            } catch (org.apache.hadoop.fs.FileAlreadyExistsException busy) {
                Optional<Writer> holder = readWriter(fs, file);
                if (holder.isPresent() && !holder.get().mayBeAlive()) {
                    fs.delete(file, false);
                    continue;
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new IOException("'" + target + "' is being replaced by another writer ("
                            + holder.map(Writer::describe).orElse("unknown") + "); gave up after waiting "
                            + TimeUnit.MILLISECONDS.toMinutes(LOCK_TIMEOUT_MILLIS) + " minutes. If no writer is running,"
                            + " delete '" + file + "'.", busy);
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting to replace '" + target + "'", e);
                }
            }
        }
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path parentOf(Path target) {
        return target.getParent() == null ? new Path(".") : target.getParent();
    }
}
