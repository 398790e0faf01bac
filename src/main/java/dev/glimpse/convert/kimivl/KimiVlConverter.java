package dev.glimpse.convert.kimivl;

import dev.glimpse.convert.GraphBuilder;
import dev.glimpse.convert.GraphCache;
import dev.glimpse.convert.SafeTensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Checkpoint directory -> {vision, embed, decoder}.onnx, cached by checkpoint content. */
public final class KimiVlConverter {

    private static final Logger log = LoggerFactory.getLogger(KimiVlConverter.class);

    public static final String VISION = "vision.onnx";
    public static final String EMBED = "embed.onnx";
    public static final String DECODER = "decoder.onnx";

    private KimiVlConverter() {}

    /** Writes the three graphs into {@code outDir} (created if missing). */
    public static void convert(Path checkpointDir, Path outDir, String dtype) throws IOException {
        GraphCache.requireDtype(dtype);
        KimiVlConfig config = KimiVlConfig.load(checkpointDir);
        SafeTensors st = SafeTensors.openDirectory(checkpointDir);
        Files.createDirectories(outDir);
        long t0 = System.nanoTime();
        save(KimiVlVisionGraph.build(config, st), outDir.resolve(VISION));
        save(KimiVlDecoderGraph.buildEmbed(config, st), outDir.resolve(EMBED));
        save(KimiVlDecoderGraph.buildDecoder(config, st), outDir.resolve(DECODER));
        log.info("converted {} -> {} in {} ms", checkpointDir, outDir, (System.nanoTime() - t0) / 1_000_000);
    }

    private static void save(GraphBuilder g, Path file) throws IOException {
        g.save(file, GraphCache.EXTERNAL_DATA_THRESHOLD);
    }

    /** The cached graph directory for this checkpoint and dtype, converting on a miss. */
    public static Path cached(Path checkpointDir, Path cacheRoot, String dtype) {
        return GraphCache.cached(checkpointDir, cacheRoot, "dtype=" + dtype, DECODER,
                out -> convert(checkpointDir, out, dtype));
    }
}
