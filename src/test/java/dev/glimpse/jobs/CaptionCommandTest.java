package dev.glimpse.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.card.ModelCardLoader;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.runtime.OrtRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The {@code caption} command end to end on the random-weight test model (greedy, so deterministic): one line per file,
 * the same lines the {@link Captioner} gives for each file on its own, and resuming after a run that was killed while
 * writing a line.
 */
class CaptionCommandTest {

    static final String[] MODEL = {"--model-dir", "src/test/resources/model-cards", "--model", "kimivl-random",
            "--data-dir", "target/test-data"};
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        String[] all = new String[args.length + MODEL.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(MODEL, 0, all, args.length, MODEL.length);
        return runRaw(all);
    }

    static Run runRaw(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = CaptionCommand.main(args, o, e);
        }
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A small PNG: a background and a filled shape, different per seed; sizes vary so the images tile differently. */
    static void png(Path file, int seed) throws IOException {
        int w = 40 + 17 * seed, h = 90 - 9 * seed;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(Color.HSBtoRGB(seed / 7f, 0.6f, 0.9f)));
        g.fillRect(0, 0, w, h);
        g.setColor(seed % 2 == 0 ? Color.BLACK : Color.WHITE);
        if (seed % 3 == 0) g.fillOval(w / 4, h / 4, w / 2, h / 2);
        else g.fillRect(w / 5, h / 3, w / 2, h / 3);
        g.dispose();
        Files.createDirectories(file.getParent());
        ImageIO.write(img, "png", file.toFile());
    }

    static List<String> lines(Path file) throws IOException {
        return Files.readAllLines(file, StandardCharsets.UTF_8);
    }

    static Map<String, JsonNode> byPath(List<String> lines) throws IOException {
        Map<String, JsonNode> m = new HashMap<>();
        for (String l : lines) {
            JsonNode n = JSON.readTree(l);
            assertNull(m.put(n.get("path").asText(), n), "path twice: " + l);
        }
        return m;
    }

    @Test
    void captionsEveryVisibleFileLikeTheCaptionerDoes() throws Exception {
        Path in = tmp.resolve("in");
        List<String> images = List.of("a.png", "b.png", "c.png", "sub/d.png", "sub/e.png", "z.png");
        for (int i = 0; i < images.size(); i++) png(in.resolve(images.get(i)), i + 1);
        Files.writeString(in.resolve("notes.txt"), "not an image\n");
        png(in.resolve(".hidden.png"), 1);
        png(in.resolve(".cache/f.png"), 2);
        Path output = tmp.resolve("out/captions.jsonl");   // its folder does not exist yet

        Run r = run("--input", in.toString(), "--output", output.toString(), "--max-tokens", "12", "--concurrency", "4");
        assertEquals(0, r.status(), r.err());

        List<String> lines = lines(output);
        Map<String, JsonNode> got = byPath(lines);
        Set<String> expected = new HashSet<>(images);
        expected.add("notes.txt");
        assertEquals(expected, got.keySet());
        for (String p : images) {
            JsonNode n = got.get(p);
            assertTrue(n.get("error").isNull(), n.toString());
            assertTrue(n.get("caption").isTextual(), n.toString());
            assertTrue(n.get("tokens").asInt() >= 0 && n.get("tokens").asInt() <= 12, n.toString());
        }
        JsonNode notes = got.get("notes.txt");
        assertTrue(notes.get("caption").isNull());
        assertFalse(notes.get("error").path("code").asText().isEmpty(), notes.toString());

        assertTrue(r.out().contains("6 images captioned, 1 failed"), r.out());
        assertTrue(r.out().contains(output.toString()), r.out());
        assertTrue(r.err().contains("7/7 images"), r.err());

        // The same line, byte for byte, as the Captioner gives for each file alone on a fresh model.
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (ServedModel served = ServedModel.standalone(
                ModelCardLoader.load(Path.of("src/test/resources/model-cards/kimivl-random")), dev.glimpse.family.Families::load,
                new OrtRuntime("cpu", 0),
                Path.of("target/test-data/graphs"))) {
            Captioner alone = new Captioner(served, pool, ImageLimits.DEFAULT.maxBytes());
            for (String l : lines) {
                String p = JSON.readTree(l).get("path").asText();
                assertEquals(alone.caption(in.toRealPath(), p, "Describe the image.", 12, () -> false).join().result(), l);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void resumesAfterAKilledRunWithoutDuplicates() throws Exception {
        Path in = tmp.resolve("in");
        for (int i = 0; i < 4; i++) png(in.resolve((char) ('a' + i) + ".png"), i + 2);
        // The output inside the input folder: it is not captioned itself.
        Path output = in.resolve("captions.jsonl");
        String first = "{\"path\":\"a.png\",\"caption\":\"written by an earlier run\",\"tokens\":3,\"error\":null}";
        String second = "{\"path\":\"b.png\",\"caption\":null,\"tokens\":0,\"error\":{\"code\":\"x\",\"message\":\"earlier failure\"}}";
        Files.writeString(output, first + "\n" + second + "\n" + "{\"path\":\"c.png\",\"capt");

        Run r = run("--input", in.toString(), "--output", output.toString(), "--max-tokens", "8");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("cut off a partial last line"), r.err());
        assertTrue(r.err().contains("resuming: 2 of 4 files"), r.err());
        assertTrue(r.err().contains("4/4 images (2 resumed)"), r.err());
        assertTrue(r.out().contains("2 images captioned, 0 failed (+2 from an earlier run)"), r.out());

        List<String> lines = lines(output);
        assertEquals(4, lines.size(), String.join("\n", lines));
        assertEquals(first, lines.get(0));
        assertEquals(second, lines.get(1));
        Map<String, JsonNode> got = byPath(lines);
        assertEquals(Set.of("a.png", "b.png", "c.png", "d.png"), got.keySet());
        assertTrue(got.get("c.png").get("caption").isTextual(), lines.get(2));

        // Everything is there: a third run changes nothing and does not even load the model.
        byte[] before = Files.readAllBytes(output);
        Run again = runRaw("--input", in.toString(), "--output", output.toString(), "--model", "no-such-model");
        assertEquals(0, again.status(), again.err());
        assertTrue(again.out().contains("nothing to do"), again.out());
        assertArrayEquals(before, Files.readAllBytes(output));
    }

    @Test
    void outputFileEdgeCases() throws Exception {
        // A last line that is complete but lacks its newline is kept (and ended), not cut off.
        Path f = tmp.resolve("edited.jsonl");
        Files.writeString(f, "{\"path\":\"a.png\"}\n\n{\"path\":\"b.png\",\"caption\":\"x\"}");
        try (CaptionOutput o = CaptionOutput.open(f)) {
            assertEquals(Set.of("a.png", "b.png"), o.paths());
            assertEquals(0, o.droppedBytes());
            o.append("{\"path\":\"c.png\"}");
        }
        assertEquals("{\"path\":\"a.png\"}\n\n{\"path\":\"b.png\",\"caption\":\"x\"}\n{\"path\":\"c.png\"}\n", Files.readString(f));

        // Only a partial line: the file is emptied.
        Path partial = tmp.resolve("partial.jsonl");
        Files.writeString(partial, "{\"path\":\"a.pn");
        try (CaptionOutput o = CaptionOutput.open(partial)) {
            assertEquals(Set.of(), o.paths());
            assertEquals(13, o.droppedBytes());
        }
        assertEquals(0, Files.size(partial));

        // Some other file named as --output is refused and left alone; so is a second writer.
        Path other = tmp.resolve("other.txt");
        Files.writeString(other, "hello\nworld\n");
        assertThrows(IOException.class, () -> CaptionOutput.open(other));
        assertEquals("hello\nworld\n", Files.readString(other));
        try (CaptionOutput o = CaptionOutput.open(f)) {
            assertThrows(IOException.class, () -> CaptionOutput.open(f));
        }
    }

    @Test
    void usageErrorsExitWithTwo() throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        String out = tmp.resolve("o.jsonl").toString();
        List<String[]> bad = new ArrayList<>(List.of(
                new String[]{},
                new String[]{"--input", in.toString()},
                new String[]{"--output", out},
                new String[]{"--input", in.toString(), "--output", out, "--bogus", "1"},
                new String[]{"--input", in.toString(), "--output"},
                new String[]{"--input", in.toString(), "--output", out, "--max-tokens", "many"},
                new String[]{"--input", in.toString(), "--output", out, "--concurrency", "0"},
                new String[]{"--input", in.toString(), "--output", out, "--prompt", " "},
                new String[]{"--help"}));
        for (String[] args : bad) {
            Run r = runRaw(args);
            assertEquals(2, r.status(), String.join(" ", args));
            assertTrue(r.err().contains("usage: java -jar glimpse.jar caption"), r.err());
        }
        Run missing = runRaw("--input", tmp.resolve("nope").toString(), "--output", out);
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("input folder " + tmp.resolve("nope") + " does not exist"), missing.err());
        Run file = runRaw("--input", Files.writeString(tmp.resolve("f.txt"), "x").toString(), "--output", out);
        assertEquals(2, file.status());
        assertTrue(file.err().contains("is not a folder"), file.err());
        assertFalse(Files.exists(Path.of(out)));

        // Not a usage error but fatal: the output is a folder.
        Files.writeString(in.resolve("x.txt"), "x");
        Run dir = runRaw("--input", in.toString(), "--output", in.toString());
        assertEquals(1, dir.status(), dir.err());
        assertTrue(dir.err().contains("is a folder"), dir.err());
    }
}
