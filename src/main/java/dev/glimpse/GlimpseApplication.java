package dev.glimpse;

import dev.glimpse.convert.kimivl.KimiVlConverter;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Entry point. {@code java -jar glimpse.jar} serves; {@code java -jar glimpse.jar convert <checkpoint-dir> <out-dir> [dtype]}
 * writes the ONNX graphs of a checkpoint without starting the server; {@code eval}, {@code bench} (speed figures, see
 * BENCHMARKS.md) and {@code caption} (a folder of images to a JSONL file, resumable) run a model without the server.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class GlimpseApplication {

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("convert")) {
            System.exit(convert(Arrays.copyOfRange(args, 1, args.length)));
        }
        if (args.length > 0 && args[0].equals("eval")) {
            System.exit(eval(Arrays.copyOfRange(args, 1, args.length)));
        }
        if (args.length > 0 && args[0].equals("bench")) {
            System.exit(dev.glimpse.bench.BenchCommand.main(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
        }
        if (args.length > 0 && args[0].equals("caption")) {
            System.exit(dev.glimpse.jobs.CaptionCommand.main(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
        }
        if (args.length > 0 && args[0].equals("serve")) {
            args = Arrays.copyOfRange(args, 1, args.length);
        }
        SpringApplication.run(GlimpseApplication.class, args);
    }

    /**
     * {@code eval --model NAME [--model-dir DIR] [--set DIR] [--stride N] [--data-dir DIR]}: exact-match accuracy per task on
     * the model card's held-out ShapesWorld set ({@code <card>/eval/} unless --set is given).
     * {@code eval --model NAME --generate [--prompts FILE] [--seed N] [--save DIR] [--temperature T] [--top-p P]}: drawing
     * accuracy on held-out prompts ({@code <card>/eval/generation.jsonl} unless --prompts is given), sampled with the card's
     * default_image_sampling unless overridden, scored by the ShapesWorld scene checker.
     */
    static int eval(String[] args) throws Exception {
        java.util.Map<String, String> opt = new java.util.HashMap<>(java.util.Map.of(
                "--model", "tiny-kimi-vl", "--model-dir", "model-cards", "--stride", "1", "--data-dir", "data", "--seed", "1"));
        java.util.Set<String> optional = java.util.Set.of("--set", "--prompts", "--save", "--temperature", "--top-p");
        boolean generate = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--generate")) {
                generate = true;
                continue;
            }
            if (!opt.containsKey(args[i]) && !optional.contains(args[i]) || i + 1 >= args.length) {
                System.err.println("usage: java -jar glimpse.jar eval [--model NAME] [--model-dir DIR] [--data-dir DIR] "
                        + "([--set DIR] [--stride N] | --generate [--prompts FILE] [--seed N] [--save DIR] [--temperature T] "
                        + "[--top-p P])");
                return 2;
            }
            opt.put(args[i], args[++i]);
        }
        Path cardDir = Path.of(opt.get("--model-dir")).resolve(opt.get("--model"));
        dev.glimpse.card.ModelCard card = dev.glimpse.card.ModelCardLoader.load(cardDir);
        dev.glimpse.runtime.OrtRuntime runtime = new dev.glimpse.runtime.OrtRuntime("cpu", 0);
        try (dev.glimpse.engine.ServedModel model = dev.glimpse.engine.ServedModel.standalone(card, dev.glimpse.family.Families::load, runtime,
                Path.of(opt.get("--data-dir")).resolve("graphs"))) {
            long t0 = System.nanoTime();
            if (generate) {
                Path prompts = opt.containsKey("--prompts") ? Path.of(opt.get("--prompts")) : cardDir.resolve("eval/generation.jsonl");
                dev.glimpse.card.ModelCard.ImageSampling d = card.imageDefaults();
                dev.glimpse.engine.SamplingParams sampling = new dev.glimpse.engine.SamplingParams(
                        opt.containsKey("--temperature") ? Double.parseDouble(opt.get("--temperature")) : d.temperature(),
                        opt.containsKey("--top-p") ? Double.parseDouble(opt.get("--top-p")) : d.topP(), d.topK(), 1, null,
                        java.util.List.of());
                dev.glimpse.eval.GenerationEval.Report report = dev.glimpse.eval.GenerationEval.run(model,
                        dev.glimpse.eval.GenerationEval.load(prompts), sampling,
                        Long.parseLong(opt.get("--seed")), opt.containsKey("--save") ? Path.of(opt.get("--save")) : null, System.out);
                System.out.printf("%s on %s, temperature %s top_p %s (%.1f s)%n", card.name(), prompts, sampling.temperature(),
                        sampling.topP(), (System.nanoTime() - t0) / 1e9);
                report.print(System.out);
                report.misses().stream().limit(10).forEach(f -> System.out.println("  miss: " + f));
                return 0;
            }
            Path set = opt.containsKey("--set") ? Path.of(opt.get("--set")) : cardDir.resolve("eval");
            dev.glimpse.eval.ShapesWorldEval.Report report =
                    dev.glimpse.eval.ShapesWorldEval.run(model, set, Integer.parseInt(opt.get("--stride")), System.out);
            System.out.printf("%s on %s (%.1f s)%n", card.name(), set, (System.nanoTime() - t0) / 1e9);
            report.print(System.out);
            report.failures().stream().limit(10).forEach(f -> System.out.println("  miss: " + f));
        }
        return 0;
    }

    static int convert(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: java -jar glimpse.jar convert <checkpoint-dir> <out-dir> [fp32]");
            return 2;
        }
        Path ckpt = Path.of(args[0]);
        Path out = Path.of(args[1]);
        String dtype = args.length == 3 ? args[2] : "fp32";
        try {
            // The family is config.json's model_type, as in Hugging Face checkpoints.
            String type = new com.fasterxml.jackson.databind.ObjectMapper().readTree(ckpt.resolve("config.json").toFile())
                    .path("model_type").asText();
            switch (type) {
                case "kimi_vl" -> {
                    KimiVlConverter.convert(ckpt, out, dtype);
                    System.out.println("wrote " + KimiVlConverter.VISION + ", " + KimiVlConverter.EMBED + ", "
                            + KimiVlConverter.DECODER + " to " + out);
                }
                case "chameleon" -> {
                    dev.glimpse.convert.chameleon.ChameleonConverter.convert(ckpt, out, dtype);
                    try (var files = java.nio.file.Files.list(out)) {
                        System.out.println("wrote " + files.map(p -> p.getFileName().toString()).sorted()
                                .collect(java.util.stream.Collectors.joining(", ")) + " to " + out);
                    }
                }
                default -> {
                    System.err.println("convert failed: config.json model_type '" + type + "' is not supported; valid: [kimi_vl, chameleon]");
                    return 1;
                }
            }
        } catch (IllegalArgumentException | java.io.IOException | java.io.UncheckedIOException e) {
            System.err.println("convert failed: " + e.getMessage());
            return 1;
        }
        return 0;
    }
}
