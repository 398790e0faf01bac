package dev.glimpse.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.engine.GenerationResult;
import dev.glimpse.engine.PreparedRequest;
import dev.glimpse.engine.SamplingParams;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.engine.TokenSink;
import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.ImagePart;
import dev.glimpse.text.TextPart;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Exact-match evaluation on a held-out ShapesWorld set ({@code questions.jsonl} + PNGs, see training/shapesworld.py), run
 * through the serving path: the same image decoding, preprocessing, chat template, engine queue and greedy sampling as
 * {@code POST /v1/chat/completions}, minus the JSON transport.
 */
public final class ShapesWorldEval {

    /** Images whose long side is at least this many times the short side form the "extreme aspect" slice. */
    public static final double EXTREME_ASPECT = 4.0;

    public record Item(String image, String task, String question, String answer) {}

    /** Correct / total per task, overall and on the extreme-aspect slice. */
    public record Report(Map<String, int[]> perTask, Map<String, int[]> extremePerTask, List<String> failures) {
        public double accuracy(String task) {
            int[] c = perTask.get(task);
            return c == null || c[1] == 0 ? Double.NaN : (double) c[0] / c[1];
        }

        public double extremeAccuracy(String task) {
            int[] c = extremePerTask.get(task);
            return c == null || c[1] == 0 ? Double.NaN : (double) c[0] / c[1];
        }

        public void print(PrintStream out) {
            out.printf("%-12s %9s %8s   %s%n", "task", "correct", "acc", "extreme aspect (>= 4:1)");
            for (var e : perTask.entrySet()) {
                int[] c = e.getValue();
                int[] x = extremePerTask.getOrDefault(e.getKey(), new int[2]);
                out.printf("%-12s %4d/%-4d %7.1f%%   %s%n", e.getKey(), c[0], c[1], 100.0 * c[0] / c[1],
                        x[1] == 0 ? "-" : String.format("%d/%d %.1f%%", x[0], x[1], 100.0 * x[0] / x[1]));
            }
        }
    }

    private ShapesWorldEval() {}

    public static List<Item> load(Path setDir) {
        ObjectMapper json = new ObjectMapper();
        List<Item> items = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(setDir.resolve("questions.jsonl"))) {
                if (line.isBlank()) continue;
                JsonNode n = json.readTree(line);
                items.add(new Item(n.get("image").asText(), n.get("task").asText(), n.get("question").asText(), n.get("answer").asText()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read eval set " + setDir, e);
        }
        return items;
    }

    /**
     * Runs every question of every {@code stride}-th image (stride 1 = all; sampling whole images keeps every task in a
     * slice), greedy, one question per request.
     */
    public static Report run(ServedModel model, Path setDir, int stride, PrintStream progress) {
        List<String> images = load(setDir).stream().map(Item::image).distinct().toList();
        java.util.Set<String> chosen = new java.util.HashSet<>();
        for (int i = 0; i < images.size(); i += stride) chosen.add(images.get(i));
        List<Item> items = load(setDir).stream().filter(it -> chosen.contains(it.image())).toList();
        Map<String, int[]> perTask = new TreeMap<>();
        Map<String, int[]> extreme = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        SamplingParams greedy = new SamplingParams(0, 1, 0, 64, null, List.of());
        for (int i = 0; i < items.size(); i++) {
            Item it = items.get(i);
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(setDir.resolve(it.image()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            DecodedImage img = ImageDecoder.decode(bytes, ImageLimits.DEFAULT);
            List<ChatMessage> messages = List.of(new ChatMessage("user", List.of(new ImagePart(0), new TextPart(it.question()))));
            PreparedRequest req = model.prepare(messages, List.of(new ServedModel.ImageInput(bytes, "image")), greedy);
            GenerationResult r = model.submit(req, TokenSink.NONE, () -> false).join();
            boolean ok = r.text().equals(it.answer());
            count(perTask, it.task(), ok);
            double aspect = (double) Math.max(img.width(), img.height()) / Math.min(img.width(), img.height());
            if (aspect >= EXTREME_ASPECT) count(extreme, it.task(), ok);
            if (!ok && failures.size() < 20) {
                failures.add(it.image() + " [" + it.task() + "] " + it.question() + " -> '" + r.text() + "' (expected '" + it.answer() + "')");
            }
            if (progress != null && i % 50 == 49) progress.printf("  %d/%d%n", i + 1, items.size());
        }
        return new Report(perTask, extreme, failures);
    }

    private static void count(Map<String, int[]> m, String task, boolean ok) {
        int[] c = m.computeIfAbsent(task, k -> new int[2]);
        if (ok) c[0]++;
        c[1]++;
    }
}
