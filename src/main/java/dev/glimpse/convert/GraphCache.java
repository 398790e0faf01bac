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

    public static final long FULL_HASH_LIMIT = 256L << 20;
    /** Bump when graph layout changes, so stale caches are not reused. */
    public static final String CONVERTER_VERSION = "kimivl-graphs-2";

    private GraphCache() {}

    public static String key(Path checkpointDir, String options) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((CONVERTER_VERSION + "\n" + options + "\n").getBytes());
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
