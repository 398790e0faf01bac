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
            System.exit(dev.glimpse.eval.EvalCommand.main(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
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
