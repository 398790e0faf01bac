package dev.glimpse;

import dev.glimpse.convert.kimivl.KimiVlConverter;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Entry point. {@code java -jar glimpse.jar} serves; {@code java -jar glimpse.jar convert <checkpoint-dir> <out-dir> [dtype]}
 * writes the ONNX graphs of a checkpoint without starting the server.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class GlimpseApplication {

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("convert")) {
            System.exit(convert(Arrays.copyOfRange(args, 1, args.length)));
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
        KimiVlConverter.convert(Path.of(args[0]), Path.of(args[1]), args.length == 3 ? args[2] : "fp32");
        System.out.println("wrote " + KimiVlConverter.VISION + ", " + KimiVlConverter.EMBED + ", " + KimiVlConverter.DECODER
                + " to " + args[1]);
        return 0;
    }
}
