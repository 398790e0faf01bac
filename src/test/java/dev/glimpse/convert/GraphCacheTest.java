package dev.glimpse.convert;

import dev.glimpse.convert.kimivl.KimiVlConverter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class GraphCacheTest {

    /** The random-weight parity checkpoint (small and fixed; the bundled tiny-kimi-vl is the trained model). */
    static final Path TINY = Path.of("src/test/resources/golden/kimivl/checkpoint");

    @TempDir
    Path tmp;

    static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static Path copyCheckpoint(Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(TINY)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
        return to;
    }

    @Test
    void secondCallIsACacheHitThatRewritesNothing() throws Exception {
        Path cache = tmp.resolve("cache");
        Path first = KimiVlConverter.cached(TINY, cache, "fp32");
        assertEquals(cache.resolve(GraphCache.key(TINY, "dtype=fp32")), first);
        assertEquals(List.of(KimiVlConverter.DECODER, KimiVlConverter.EMBED, KimiVlConverter.VISION), names(first));
        // No temporary directory is left beside the published one.
        assertEquals(List.of(first.getFileName().toString()), names(cache));

        // Backdate the graph so a rewrite would show even on a filesystem with coarse timestamps.
        FileTime old = FileTime.fromMillis(1_000_000_000_000L);
        Path decoder = first.resolve(KimiVlConverter.DECODER);
        Files.setLastModifiedTime(decoder, old);
        long size = Files.size(decoder);

        Path second = KimiVlConverter.cached(TINY, cache, "fp32");
        assertEquals(first, second);
        assertEquals(old, Files.getLastModifiedTime(decoder));
        assertEquals(size, Files.size(decoder));
        assertEquals(List.of(first.getFileName().toString()), names(cache));
    }

    @Test
    void keyIsStableAndIndependentOfWhereTheCheckpointLives() throws Exception {
        String k = GraphCache.key(TINY, "dtype=fp32");
        assertEquals(24, k.length());
        assertTrue(k.matches("[0-9a-f]{24}"), k);
        assertEquals(k, GraphCache.key(TINY, "dtype=fp32"));
        assertEquals(k, GraphCache.key(copyCheckpoint(tmp.resolve("copy")), "dtype=fp32"));
        assertNotEquals(k, GraphCache.key(TINY, "dtype=fp16"));
    }

    @Test
    void oneChangedByteOfConfigJsonChangesTheKey() throws Exception {
        Path copy = copyCheckpoint(tmp.resolve("copy"));
        String before = GraphCache.key(copy, "dtype=fp32");
        byte[] cfg = Files.readAllBytes(copy.resolve("config.json"));
        String text = new String(cfg, StandardCharsets.UTF_8);
        int at = text.indexOf("\"rms_norm_eps\": 1e-05") + "\"rms_norm_eps\": 1e-0".length();
        assertEquals('5', (char) cfg[at]);
        cfg[at] = '6'; // same length, one byte different
        Files.write(copy.resolve("config.json"), cfg);
        String after = GraphCache.key(copy, "dtype=fp32");
        assertNotEquals(before, after);
        // And putting the byte back restores the key: the key is a function of content only.
        cfg[at] = '5';
        Files.write(copy.resolve("config.json"), cfg);
        assertEquals(before, GraphCache.key(copy, "dtype=fp32"));
    }

    @Test
    void addingOrRenamingAFileChangesTheKey() throws Exception {
        Path copy = copyCheckpoint(tmp.resolve("copy"));
        String before = GraphCache.key(copy, "o");
        Files.move(copy.resolve("preprocessor_config.json"), copy.resolve("preprocessor_config2.json"));
        String renamed = GraphCache.key(copy, "o");
        assertNotEquals(before, renamed);
        Files.writeString(copy.resolve("extra.txt"), "");
        assertNotEquals(renamed, GraphCache.key(copy, "o"));
        // Subdirectories are not part of the checkpoint.
        String withExtra = GraphCache.key(copy, "o");
        Files.createDirectories(copy.resolve("sub")).resolve("x");
        Files.writeString(copy.resolve("sub/x"), "ignored");
        assertEquals(withExtra, GraphCache.key(copy, "o"));
    }

    @Test
    void largeFilesAreSampledAtTheHeaderAndSize() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("big"));
        Path f = dir.resolve("model.safetensors");
        long size = GraphCache.FULL_HASH_LIMIT + 4096; // sparse: no disk cost
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size);
        }
        String k0 = GraphCache.key(dir, "o");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(100); // inside the first MiB (the safetensors header)
            raf.write(1);
        }
        String k1 = GraphCache.key(dir, "o");
        assertNotEquals(k0, k1);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(size / 64 * 10 + 5); // inside the 11th sample
            raf.write(1);
        }
        String k2 = GraphCache.key(dir, "o");
        assertNotEquals(k1, k2);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size + 1);
        }
        assertNotEquals(k2, GraphCache.key(dir, "o"));
    }

    @Test
    void publishKeepsAConcurrentWinnersCopy() throws Exception {
        Path target = Files.createDirectories(tmp.resolve("cache/key"));
        Files.writeString(target.resolve(KimiVlConverter.DECODER), "winner");
        Path mine = Files.createDirectories(tmp.resolve("cache/key.tmp-1"));
        Files.writeString(mine.resolve(KimiVlConverter.DECODER), "loser");
        GraphCache.publish(mine, target);
        assertFalse(Files.exists(mine));
        assertEquals("winner", Files.readString(target.resolve(KimiVlConverter.DECODER)));

        Path fresh = Files.createDirectories(tmp.resolve("cache/key2.tmp-1"));
        Files.writeString(fresh.resolve("a"), "x");
        Path target2 = tmp.resolve("cache/key2");
        GraphCache.publish(fresh, target2);
        assertFalse(Files.exists(fresh));
        assertEquals("x", Files.readString(target2.resolve("a")));
    }

    @Test
    void aFailedConversionLeavesNoPartialDirectoryInTheCache() throws Exception {
        // vocab_size 700 passes config validation and the vision graph, then the embedding table's shape disagrees.
        Path copy = copyCheckpoint(tmp.resolve("copy"));
        Path cfg = copy.resolve("config.json");
        Files.writeString(cfg, Files.readString(cfg).replace("\"vocab_size\": 768", "\"vocab_size\": 700"));
        Path cache = tmp.resolve("cache");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KimiVlConverter.cached(copy, cache, "fp32"));
        assertTrue(e.getMessage().contains("embed_tokens"), e.getMessage());
        assertEquals(List.of(), names(cache));
    }
}
