package dev.glimpse.convert.chameleon;

import dev.glimpse.convert.GraphCache;
import dev.glimpse.convert.SafeTensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Chameleon checkpoint directory -> vq_encoder.onnx (pixels -> codes), decoder.onnx (ids -> logits, KV cache) and,
 * when the checkpoint has the VQ-GAN decoder (Anole-style, can draw), vq_decoder.onnx (codes -> pixels); cached by
 * checkpoint content like the Kimi-VL graphs.
 */
public final class ChameleonConverter {

    private static final Logger log = LoggerFactory.getLogger(ChameleonConverter.class);

    public static final String VQ_ENCODER = "vq_encoder.onnx";
    public static final String VQ_DECODER = "vq_decoder.onnx";
    public static final String DECODER = "decoder.onnx";
    /** Part of the cache key (beside the shared format version): bump when a Chameleon graph's layout changes. */
    static final String VERSION = "chameleon-graphs-1";

    private ChameleonConverter() {}

    /** Writes the graphs into {@code outDir} (created if missing). */
    public static void convert(Path checkpointDir, Path outDir, String dtype) throws IOException {
        GraphCache.requireDtype(dtype);
        ChameleonConfig config = ChameleonConfig.load(checkpointDir);
        SafeTensors st = SafeTensors.openDirectory(checkpointDir);
        Files.createDirectories(outDir);
        long t0 = System.nanoTime();
        ChameleonVqGraph.encoderGraph(config.vq(), st).save(outDir.resolve(VQ_ENCODER), GraphCache.EXTERNAL_DATA_THRESHOLD);
        if (ChameleonVqGraph.hasDecoder(st)) {
            ChameleonVqGraph.decoderGraph(config.vq(), st).save(outDir.resolve(VQ_DECODER), GraphCache.EXTERNAL_DATA_THRESHOLD);
        }
        ChameleonDecoderGraph.build(config.text(), st).save(outDir.resolve(DECODER), GraphCache.EXTERNAL_DATA_THRESHOLD);
        log.info("converted {} -> {} in {} ms", checkpointDir, outDir, (System.nanoTime() - t0) / 1_000_000);
    }

    /** The cached graph directory for this checkpoint and dtype, converting on a miss. */
    public static Path cached(Path checkpointDir, Path cacheRoot, String dtype) {
        return GraphCache.cached(checkpointDir, cacheRoot, VERSION + ";dtype=" + dtype, DECODER,
                out -> convert(checkpointDir, out, dtype));
    }
}
