package dev.glimpse.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.engine.SamplingParams;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageLimits;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * Drawing accuracy on held-out prompts: each prompt ("Draw a red circle and a blue square.") is drawn once through the
 * serving path ({@link ServedModel#generateImages}, seeded) and {@link SceneChecker} decides whether the picture shows
 * exactly the requested shapes with their colours and nothing else.
 */
public final class GenerationEval {

    private GenerationEval() {}

    public record Prompt(String prompt, List<String> shapes) {}

    /** Per number of requested shapes: {matched, total}; plus up to 20 misses described. */
    public record Report(Map<Integer, int[]> byShapes, List<String> misses) {
        public int matched() {
            return byShapes.values().stream().mapToInt(c -> c[0]).sum();
        }

        public int total() {
            return byShapes.values().stream().mapToInt(c -> c[1]).sum();
        }

        public void print(PrintStream out) {
            out.printf("generation: %d/%d = %.1f%% of prompts drawn with exactly the requested shapes%n", matched(), total(),
                    100.0 * matched() / Math.max(1, total()));
            byShapes.forEach((n, c) -> out.printf("  %d shape%s: %d/%d = %.1f%%%n", n, n == 1 ? "" : "s", c[0], c[1],
                    100.0 * c[0] / c[1]));
        }
    }

    public static List<Prompt> load(Path file) {
        ObjectMapper json = new ObjectMapper();
        List<Prompt> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.isBlank()) continue;
                JsonNode n = json.readTree(line);
                List<String> shapes = new ArrayList<>();
                n.get("shapes").forEach(s -> shapes.add(s.asText()));
                out.add(new Prompt(n.get("prompt").asText(), shapes));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return out;
    }

    /**
     * @param seed    prompt i is drawn with seed + i
     * @param saveDir where to write each picture as gen_NNN.png, or null
     */
    public static Report run(ServedModel model, List<Prompt> prompts, SamplingParams sampling, long seed, Path saveDir,
                             PrintStream progress) throws IOException {
        if (saveDir != null) Files.createDirectories(saveDir);
        Map<Integer, int[]> byShapes = new TreeMap<>();
        List<String> misses = new ArrayList<>();
        int window = 16; // drawn together, so the engine batches them
        for (int start = 0; start < prompts.size(); start += window) {
            List<CompletableFuture<List<byte[]>>> drawn = new ArrayList<>();
            int end = Math.min(prompts.size(), start + window);
            for (int i = start; i < end; i++) {
                drawn.add(model.generateImages(prompts.get(i).prompt(), 1, sampling.withSeed(seed + i), () -> false));
            }
            for (int i = start; i < end; i++) {
                Prompt p = prompts.get(i);
                byte[] png = drawn.get(i - start).join().get(0);
                if (saveDir != null) Files.write(saveDir.resolve(String.format("gen_%03d.png", i)), png);
                DecodedImage img = ImageDecoder.decode(png, ImageLimits.DEFAULT);
                List<SceneChecker.Shape> found = SceneChecker.detect(img);
                boolean ok = SceneChecker.matches(found, p.shapes());
                int[] c = byShapes.computeIfAbsent(p.shapes().size(), k -> new int[2]);
                if (ok) c[0]++;
                c[1]++;
                if (!ok && misses.size() < 20) {
                    misses.add(String.format("%03d %s -> %s", i, p.prompt(),
                            found.stream().map(SceneChecker.Shape::phrase).toList()));
                }
            }
            if (progress != null) progress.printf("  %d/%d%n", end, prompts.size());
        }
        return new Report(byShapes, misses);
    }
}
