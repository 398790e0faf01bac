package dev.glimpse.convert.chameleon;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.convert.SafeTensors;
import dev.glimpse.runtime.OrtRuntime;
import dev.glimpse.runtime.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Chameleon decoder graph built in Java against the PyTorch reference (training/make_tiny_chameleon.py): prefill
 * logits of the 180-token mixed text + image prompt, 8 greedy steps through the KV cache with image tokens masked for
 * text, and the swin_norm variant.
 */
class ChameleonDecoderGraphTest {

    static final Path DIR = Path.of("src/test/resources/golden/chameleon");
    static OrtRuntime runtime;
    static SafeTensors golden;
    static SafeTensors weights;
    static ChameleonConfig cfg;
    static ChameleonVocab vocab;

    @BeforeAll
    static void load() throws Exception {
        runtime = new OrtRuntime("cpu", 1);
        golden = SafeTensors.open(DIR.resolve("golden.safetensors"));
        weights = SafeTensors.openDirectory(DIR.resolve("checkpoint"));
        cfg = ChameleonConfig.load(DIR.resolve("checkpoint"));
        JsonNode config = new ObjectMapper().readTree(DIR.resolve("checkpoint/config.json").toFile());
        vocab = ChameleonVocab.fromVocabularyMap(config.get("vocabulary_map"), cfg.text().vocabSize(), cfg.vq().numEmbeddings());
    }

    static long[] longs(SafeTensors.Entry e) {
        java.nio.LongBuffer b = e.bytes().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).asLongBuffer();
        long[] out = new long[b.remaining()];
        b.get(out);
        return out;
    }

    /** One decoder call: returns logits (flattened K x V) and fills {@code cache} with the presents. */
    static float[] run(OrtSession s, long[] ids, int past, int keep, Map<String, float[]> cache) throws Exception {
        ChameleonConfig.Text t = cfg.text();
        int kv = t.numKvHeads();
        int hd = t.headDim();
        Map<String, OnnxTensor> in = new HashMap<>();
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            long[] mask = new long[past + ids.length];
            java.util.Arrays.fill(mask, 1);
            long[] pos = new long[ids.length];
            for (int i = 0; i < ids.length; i++) pos[i] = past + i;
            in.put(ChameleonDecoderGraph.INPUT_IDS, Tensors.longs(runtime.env(), ids, 1, ids.length));
            in.put(ChameleonDecoderGraph.ATTENTION_MASK, Tensors.longs(runtime.env(), mask, 1, mask.length));
            in.put(ChameleonDecoderGraph.POSITION_IDS, Tensors.longs(runtime.env(), pos, 1, pos.length));
            in.put(ChameleonDecoderGraph.NUM_LOGITS_TO_KEEP, Tensors.longs(runtime.env(), new long[] {keep}, 1));
            for (int i = 0; i < t.numLayers(); i++) {
                for (String name : List.of(ChameleonDecoderGraph.pastKey(i), ChameleonDecoderGraph.pastValue(i))) {
                    float[] data = cache.getOrDefault(name, new float[0]);
                    in.put(name, Tensors.floats(runtime.env(), data, 1, kv, past, hd));
                }
            }
            owned.addAll(in.values());
            try (OrtSession.Result r = s.run(in)) {
                for (int i = 0; i < t.numLayers(); i++) {
                    cache.put(ChameleonDecoderGraph.pastKey(i), Tensors.toFloats((OnnxTensor) r.get(ChameleonDecoderGraph.presentKey(i)).get()));
                    cache.put(ChameleonDecoderGraph.pastValue(i), Tensors.toFloats((OnnxTensor) r.get(ChameleonDecoderGraph.presentValue(i)).get()));
                }
                return Tensors.toFloats((OnnxTensor) r.get(ChameleonDecoderGraph.LOGITS).get());
            }
        } finally {
            for (OnnxTensor o : owned) o.close();
        }
    }

    static double maxDiff(float[] a, float[] b, int offsetB) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[offsetB + i]));
        return m;
    }

    @Test
    void prefillAndGreedyStepsMatchTheReference() throws Exception {
        long[] ids = longs(golden.entry("input_ids"));
        float[] prefill = SafeTensors.toFloats(golden.entry("prefill_logits"));
        float[] decode = SafeTensors.toFloats(golden.entry("decode_logits"));
        long[] greedy = longs(golden.entry("greedy_tokens"));
        int v = cfg.text().vocabSize();
        byte[] model = ChameleonDecoderGraph.build(cfg.text(), weights).build(false, null).toByteArray();
        try (OrtSession s = runtime.open(model, "chameleon-decoder", Map.of())) {
            Map<String, float[]> cache = new HashMap<>();
            float[] logits = run(s, ids, 0, ids.length, cache);
            assertEquals(prefill.length, logits.length);
            double prefillErr = maxDiff(logits, prefill, 0);
            assertTrue(prefillErr < 1e-4, "prefill max abs diff " + prefillErr);

            float[] row = java.util.Arrays.copyOfRange(logits, (ids.length - 1) * v, ids.length * v);
            int past = ids.length;
            double stepErr = 0;
            for (int t = 0; t < greedy.length; t++) {
                stepErr = Math.max(stepErr, maxDiff(row, decode, t * v));
                long next = argmaxText(row);
                assertEquals(greedy[t], next, "greedy token " + t);
                if (t + 1 < greedy.length) {
                    row = run(s, new long[] {next}, past, 1, cache);
                    past++;
                }
            }
            assertTrue(stepErr < 1e-4, "cached steps max abs diff " + stepErr);
            System.out.printf("chameleon decoder parity: prefill %.2e, 8 cached greedy steps %.2e%n", prefillErr, stepErr);
        }
    }

    @Test
    void swinNormMatchesTheReference() throws Exception {
        ChameleonConfig.Text t = cfg.text();
        ChameleonConfig.Text swin = new ChameleonConfig.Text(t.vocabSize(), t.hidden(), t.intermediate(), t.numLayers(),
                t.numHeads(), t.numKvHeads(), t.rmsNormEps(), t.ropeTheta(), t.maxPositionEmbeddings(), true,
                t.bosTokenId(), t.eosTokenId(), t.imageTokenId());
        long[] ids = longs(golden.entry("input_ids"));
        float[] expected = SafeTensors.toFloats(golden.entry("swin_last_logits"));
        byte[] model = ChameleonDecoderGraph.build(swin, weights).build(false, null).toByteArray();
        try (OrtSession s = runtime.open(model, "chameleon-decoder-swin", Map.of())) {
            float[] logits = run(s, ids, 0, 8, new HashMap<>());
            double err = maxDiff(logits, expected, 0);
            assertTrue(err < 1e-4, "swin_norm max abs diff " + err);
            System.out.printf("chameleon decoder parity, swin_norm: %.2e%n", err);
        }
    }

    /** Greedy over text tokens only: image tokens are never picked when generating text. */
    static long argmaxText(float[] row) {
        int best = -1;
        for (int i = 0; i < row.length; i++) {
            if (vocab.isImageToken(i)) continue;
            if (best < 0 || row[i] > row[best]) best = i;
        }
        return best;
    }
}
