package dev.glimpse;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.glimpse.convert.chameleon.ChameleonConverter;
import dev.glimpse.convert.chameleon.ChameleonDecoderGraph;
import dev.glimpse.convert.kimivl.KimiVlConfig;
import dev.glimpse.convert.kimivl.KimiVlConverter;
import dev.glimpse.convert.kimivl.KimiVlDecoderGraph;
import dev.glimpse.convert.kimivl.KimiVlVisionGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** {@code java -jar glimpse.jar convert <checkpoint-dir> <out-dir> [dtype]}. */
class ConvertCommandTest {

    static final String CKPT = "model-cards/tiny-kimi-vl";

    @TempDir
    Path tmp;

    static Set<String> inputs(Path graph) throws Exception {
        try (OrtSession s = OrtEnvironment.getEnvironment().createSession(graph.toString(), new OrtSession.SessionOptions())) {
            return s.getInputNames();
        }
    }

    static Set<String> outputs(Path graph) throws Exception {
        try (OrtSession s = OrtEnvironment.getEnvironment().createSession(graph.toString(), new OrtSession.SessionOptions())) {
            return s.getOutputNames();
        }
    }

    @Test
    void writesThreeGraphsThatOpenInOnnxRuntime() throws Exception {
        Path out = tmp.resolve("graphs");
        assertEquals(0, GlimpseApplication.convert(new String[]{CKPT, out.toString()}));
        Path vision = out.resolve(KimiVlConverter.VISION);
        Path embed = out.resolve(KimiVlConverter.EMBED);
        Path decoder = out.resolve(KimiVlConverter.DECODER);
        for (Path p : new Path[]{vision, embed, decoder}) assertTrue(Files.size(p) > 0, p.toString());

        assertEquals(Set.of(KimiVlVisionGraph.PIXEL_VALUES, KimiVlVisionGraph.POS_INDEX, KimiVlVisionGraph.POS_WEIGHT,
                KimiVlVisionGraph.PATCH_POS, KimiVlVisionGraph.IMAGE_INDEX, KimiVlVisionGraph.MERGE_INDEX), inputs(vision));
        assertEquals(Set.of(KimiVlVisionGraph.IMAGE_FEATURES), outputs(vision));

        assertEquals(Set.of(KimiVlDecoderGraph.INPUT_IDS), inputs(embed));
        assertEquals(Set.of(KimiVlDecoderGraph.INPUTS_EMBEDS), outputs(embed));

        // One latent KV cache in and out per decoder layer (5 in the bundled checkpoint).
        int layers = KimiVlConfig.load(Path.of(CKPT)).text().numLayers();
        assertEquals(5, layers);
        Set<String> decoderIn = new HashSet<>(Set.of(KimiVlDecoderGraph.INPUTS_EMBEDS, KimiVlDecoderGraph.ATTENTION_MASK,
                KimiVlDecoderGraph.POSITION_IDS, KimiVlDecoderGraph.NUM_LOGITS_TO_KEEP));
        Set<String> decoderOut = new HashSet<>(Set.of(KimiVlDecoderGraph.LOGITS));
        for (int i = 0; i < layers; i++) {
            decoderIn.add(KimiVlDecoderGraph.pastName(i));
            decoderOut.add(KimiVlDecoderGraph.presentName(i));
        }
        assertEquals(decoderIn, inputs(decoder));
        assertEquals(decoderOut, outputs(decoder));
    }

    @Test
    void aChameleonCheckpointGivesItsThreeGraphs() throws Exception {
        Path out = tmp.resolve("chameleon");
        assertEquals(0, GlimpseApplication.convert(new String[]{"src/test/resources/golden/chameleon/checkpoint", out.toString()}));
        Path enc = out.resolve(ChameleonConverter.VQ_ENCODER);
        Path dec = out.resolve(ChameleonConverter.VQ_DECODER);
        Path lm = out.resolve(ChameleonConverter.DECODER);
        assertEquals(Set.of("pixel_values"), inputs(enc));
        assertEquals(Set.of("codes"), outputs(enc));
        assertEquals(Set.of("codes"), inputs(dec));
        assertEquals(Set.of("pixels"), outputs(dec));
        assertTrue(inputs(lm).containsAll(Set.of(ChameleonDecoderGraph.INPUT_IDS, ChameleonDecoderGraph.ATTENTION_MASK,
                ChameleonDecoderGraph.POSITION_IDS, ChameleonDecoderGraph.NUM_LOGITS_TO_KEEP, ChameleonDecoderGraph.pastKey(1),
                ChameleonDecoderGraph.pastValue(1))));
        assertTrue(outputs(lm).containsAll(Set.of(ChameleonDecoderGraph.LOGITS, ChameleonDecoderGraph.presentKey(0))));
    }

    @Test
    void explicitFp32IsAccepted() throws Exception {
        Path out = tmp.resolve("graphs");
        assertEquals(0, GlimpseApplication.convert(new String[]{CKPT, out.toString(), "fp32"}));
        assertTrue(Files.isRegularFile(out.resolve(KimiVlConverter.DECODER)));
    }

    @Test
    void badUsageReturns2AndWritesNothing() throws Exception {
        Path out = tmp.resolve("graphs");
        assertEquals(2, GlimpseApplication.convert(new String[]{}));
        assertEquals(2, GlimpseApplication.convert(new String[]{CKPT}));
        assertEquals(2, GlimpseApplication.convert(new String[]{CKPT, out.toString(), "fp32", "extra"}));
        assertFalse(Files.exists(out));
    }

    @Test
    void unsupportedDtypeFailsWithAMessageListingTheValidOnes() throws Exception {
        Path out = tmp.resolve("graphs");
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.err;
        System.setErr(new java.io.PrintStream(err, true));
        try {
            assertEquals(1, GlimpseApplication.convert(new String[]{CKPT, out.toString(), "fp16"}));
        } finally {
            System.setErr(old);
        }
        assertTrue(err.toString().contains("'fp16'"), err.toString());
        assertTrue(err.toString().contains("[fp32]"), err.toString());
        assertFalse(Files.exists(out));
    }
}
