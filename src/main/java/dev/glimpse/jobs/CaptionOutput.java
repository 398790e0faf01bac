package dev.glimpse.jobs;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * The JSONL output of the {@code caption} command, opened for resuming: the paths it already holds are read first, a
 * partial last line (the previous run was killed while writing it) is cut off, and new lines are appended one
 * {@code write} each, so a crash loses at most the images in flight. The file is locked while open: two runs cannot
 * append to the same output.
 */
final class CaptionOutput implements Closeable {

    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final FileChannel channel;
    private final FileLock lock;
    private final Set<String> paths;
    private final long droppedBytes;

    private CaptionOutput(FileChannel channel, FileLock lock, Set<String> paths, long droppedBytes) {
        this.channel = channel;
        this.lock = lock;
        this.paths = paths;
        this.droppedBytes = droppedBytes;
    }

    /**
     * Opens (creating it and its folder if needed) and scans {@code file}.
     *
     * @throws IOException when the file cannot be read or written, is locked by another run, or a complete line of it is
     *                     not a caption line (another file was named as --output: nothing is appended to it)
     */
    static CaptionOutput open(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        if (Files.isDirectory(file)) throw new IOException(file + " is a folder, not a file");
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) throw new IOException(file + " is being written by another caption run");
            Set<String> paths = new HashSet<>();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            long pos = 0;
            long lineStart = 0;
            int lineNo = 0;
            for (int n; (n = ch.read(buf.clear(), pos)) > 0; pos += n) {
                for (int i = 0; i < n; i++) {
                    byte b = buf.get(i);
                    if (b != '\n') {
                        line.write(b);
                        continue;
                    }
                    lineNo++;
                    String text = line.toString(StandardCharsets.UTF_8).strip();
                    line.reset();
                    lineStart = pos + i + 1;
                    if (text.isEmpty()) continue;
                    String path = pathOf(text);
                    if (path == null) {
                        throw new IOException(file + " line " + lineNo + " is not a caption line (a JSON object with a \"path\")"
                                + "; refusing to append to it");
                    }
                    paths.add(path);
                }
            }
            long dropped = 0;
            String tail = line.toString(StandardCharsets.UTF_8).strip();
            String tailPath = tail.isEmpty() ? null : pathOf(tail);
            if (tailPath != null) {
                // A complete line that only lacks its newline (an edited file): keep it, end it.
                paths.add(tailPath);
                ch.write(ByteBuffer.wrap(new byte[]{'\n'}), pos);
            } else if (pos > lineStart) {
                dropped = pos - lineStart;
                ch.truncate(lineStart);
            }
            ch.position(ch.size());
            return new CaptionOutput(ch, lock, paths, dropped);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The "path" of a caption line, or null when the text is not a complete JSON object with a textual path. */
    private static String pathOf(String text) {
        try {
            JsonNode node = JSON.readTree(text);
            JsonNode p = node == null ? null : node.get("path");
            return node != null && node.isObject() && p != null && p.isTextual() ? p.asText() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Paths of the lines already in the file (results of earlier runs, successful or not). */
    Set<String> paths() {
        return paths;
    }

    /** Bytes of a partial last line that {@link #open} cut off (0 when the file ended with a complete line). */
    long droppedBytes() {
        return droppedBytes;
    }

    /** Appends one line (a JSON object without newline) in a single write; it is in the file when this returns. */
    void append(String jsonLine) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((jsonLine + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) channel.write(b);
    }

    @Override
    public void close() throws IOException {
        try {
            channel.force(false);
            lock.release();
        } finally {
            channel.close();
        }
    }
}
