package dev.glimpse.convert;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * On-disk cache of converted graphs, keyed by the checkpoint's content and the conversion options, so a server restart
 * reuses graphs and a changed checkpoint (or converter version) converts again.
 *
 * <p>Small files are hashed whole. Files over {@link #FULL_HASH_LIMIT} are hashed by size, their first 1 MiB (which holds
 * the safetensors header) and 64 evenly spaced 64 KiB samples: reading a 16 GB checkpoint in full at every start would cost
 * more than the conversion itself.
 */
public final class GraphCache {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(GraphCache.class);

    public static final long FULL_HASH_LIMIT = 256L << 20;
    /** Weights above this many bytes per graph go to ONNX external data (protobuf's limit is 2 GB). */
    public static final long EXTERNAL_DATA_THRESHOLD = 1L << 30;
    /** Graph dtypes the converters write. */
    public static final java.util.List<String> DTYPES = java.util.List.of("fp32");

    /** Fails naming the valid dtypes when a converter cannot write {@code dtype}. */
    public static void requireDtype(String dtype) {
        if (!DTYPES.contains(dtype)) {
            throw new IllegalArgumentException("graph dtype '" + dtype + "' is not supported yet; valid: " + DTYPES);
        }
    }
    /**
     * Salt of every key: bump it when something all families share changes (the graph builder, external-data layout).
     * A family's own layout changes bump the version in the options its converter passes.
     */
    static final String FORMAT_VERSION = "glimpse-graphs-2";

    private GraphCache() {}

    public static String key(Path checkpointDir, String options) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((FORMAT_VERSION + "\n" + options + "\n").getBytes());
            List<Path> files = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(checkpointDir)) {
                for (Path p : ds) if (Files.isRegularFile(p)) files.add(p);
            }
            files.sort(null);
            for (Path f : files) {
                md.update(f.getFileName().toString().getBytes());
                long size = Files.size(f);
                md.update(Long.toString(size).getBytes());
                if (size <= FULL_HASH_LIMIT) {
                    try (InputStream in = Files.newInputStream(f)) {
                        byte[] buf = new byte[1 << 16];
                        int n;
                        while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
                    }
                } else {
                    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                        sample(ch, md, 0, 1 << 20);
                        for (int i = 0; i < 64; i++) sample(ch, md, size / 64 * i, 1 << 16);
                    }
                }
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 24);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot hash checkpoint " + checkpointDir, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sample(FileChannel ch, MessageDigest md, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len);
        ch.read(b, pos);
        b.flip();
        md.update(b);
    }

    /** Writes a checkpoint's graphs into a (temporary) directory. */
    public interface Conversion {
        void into(Path outDir) throws IOException;
    }

    /**
     * The cache directory of a checkpoint's graphs, converting on a miss: into a temporary directory that is published
     * atomically once complete, and deleted if the conversion fails, so the cache never holds partial graphs.
     *
     * @param options  everything besides the checkpoint's files that shapes the graphs: the family's converter version
     *                 (bump it when a graph layout changes) and the dtype
     * @param complete a file the conversion writes last-or-always: its presence marks a usable entry
     */
    public static Path cached(Path checkpointDir, Path cacheRoot, String options, String complete, Conversion conversion) {
        String key = key(checkpointDir, options);
        Path target = cacheRoot.resolve(key);
        if (Files.isRegularFile(target.resolve(complete))) {
            log.info("graph cache hit {} for {}", target, checkpointDir);
            return target;
        }
        Path tmp = null;
        try {
            tmp = Files.createDirectories(cacheRoot).resolve(key + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
            conversion.into(tmp);
            publish(tmp, target);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot convert " + checkpointDir + " into " + cacheRoot, e);
        } finally {
            // publish moved or deleted tmp on success; a failed conversion must not leave partial graphs behind
            if (tmp != null) {
                try {
                    deleteTree(tmp);
                } catch (IOException e) {
                    log.warn("cannot delete {}: {}", tmp, e.getMessage());
                }
            }
        }
    }

    /** Moves a fully written temporary directory into place; a concurrent winner's copy is kept. */
    public static void publish(Path tmp, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (!Files.isDirectory(target)) throw e;
            deleteTree(tmp);
        }
    }

    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
