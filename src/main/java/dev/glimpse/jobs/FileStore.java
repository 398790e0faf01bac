package dev.glimpse.jobs;

import dev.glimpse.error.GlimpseException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Bytes of uploaded files, one file per id under {@code <data-dir>/files}. Written to a temporary name and renamed, so a
 * crash mid-upload never leaves a half file under a real id; the database row is inserted after the rename.
 */
public final class FileStore {

    private static final SecureRandom RANDOM = new SecureRandom();
    private final Path dir;

    public FileStore(Path dir) {
        this.dir = dir;
    }

    /** A new id with the given prefix ("file-", "batch_", "capjob_"): 24 random hex digits. */
    public static String newId(String prefix) {
        byte[] b = new byte[12];
        RANDOM.nextBytes(b);
        return prefix + HexFormat.of().formatHex(b);
    }

    public Path path(String id) {
        if (!id.matches("[A-Za-z0-9_-]{1,64}")) throw new IllegalArgumentException("bad file id " + id);
        return dir.resolve(id);
    }

    /** Copies {@code in} to the file of {@code id}; 413 past {@code maxBytes}. Returns the byte count. */
    public long save(String id, InputStream in, long maxBytes) throws IOException {
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".upload-", ".tmp");
        try {
            long n = 0;
            byte[] buf = new byte[1 << 16];
            try (OutputStream out = Files.newOutputStream(tmp)) {
                for (int r; (r = in.read(buf)) > 0; ) {
                    n += r;
                    if (n > maxBytes) throw GlimpseException.tooLarge("file_too_large", "file", "the file is larger than " + maxBytes + " bytes");
                    out.write(buf, 0, r);
                }
            }
            Files.move(tmp, path(id), StandardCopyOption.ATOMIC_MOVE);
            return n;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** {@code length} bytes at {@code offset} of the file of {@code id}. */
    public byte[] read(String id, long offset, int length) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(path(id).toFile(), "r")) {
            byte[] b = new byte[length];
            f.seek(offset);
            f.readFully(b);
            return b;
        }
    }

    public void delete(String id) throws IOException {
        Files.deleteIfExists(path(id));
    }
}
