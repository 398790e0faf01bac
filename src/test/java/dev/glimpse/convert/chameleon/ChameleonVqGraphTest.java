package dev.glimpse.convert.chameleon;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.glimpse.convert.SafeTensors;
import dev.glimpse.runtime.OrtRuntime;
import dev.glimpse.runtime.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The VQ-GAN graphs built in Java against the PyTorch reference's golden outputs for the tiny random Chameleon
 * checkpoint (training/make_tiny_chameleon.py): codes exactly, decoded pixels within 1e-4.
 */
class ChameleonVqGraphTest {

    static final Path DIR = Path.of("src/test/resources/golden/chameleon");
    static OrtRuntime runtime;
    static SafeTensors golden;
    static SafeTensors weights;
    static ChameleonConfig cfg;

    @BeforeAll
    static void load() {
        runtime = new OrtRuntime("cpu", 1);
        golden = SafeTensors.open(DIR.resolve("golden.safetensors"));
        weights = SafeTensors.openDirectory(DIR.resolve("checkpoint"));
        cfg = ChameleonConfig.load(DIR.resolve("checkpoint"));
    }

    static long[] longs(SafeTensors.Entry e) {
        java.nio.LongBuffer b = e.bytes().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).asLongBuffer();
        long[] out = new long[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void theEncoderGivesTheReferenceCodes() throws Exception {
        byte[] model = ChameleonVqGraph.encoder(cfg.vq(), weights).toByteArray();
        float[] pixels = SafeTensors.toFloats(golden.entry("pixel_values"));
        long[] expected = longs(golden.entry("image_codes"));
        try (OrtSession s = runtime.open(model, "vq-encoder", Map.of());
             OnnxTensor in = Tensors.floats(runtime.env(), pixels, 2, 3, 16, 16);
             OrtSession.Result r = s.run(Map.of("pixel_values", in))) {
            long[][] codes = (long[][]) r.get(0).getValue();
            assertEquals(2, codes.length);
            long[] flat = new long[expected.length];
            for (int i = 0; i < 2; i++) System.arraycopy(codes[i], 0, flat, i * 64, 64);
            assertArrayEquals(expected, flat);
        }
    }

    @Test
    void theDecoderGivesTheReferencePixels() throws Exception {
        byte[] model = ChameleonVqGraph.decoder(cfg.vq(), weights).toByteArray();
        long[] codes = longs(golden.entry("decode_codes"));
        float[] expected = SafeTensors.toFloats(golden.entry("decoded_pixels"));
        try (OrtSession s = runtime.open(model, "vq-decoder", Map.of());
             OnnxTensor in = Tensors.longs(runtime.env(), codes, 1, 64);
             OrtSession.Result r = s.run(Map.of("codes", in))) {
            float[] got = Tensors.toFloats((OnnxTensor) r.get(0));
            assertEquals(expected.length, got.length);
            double max = 0;
            for (int i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i] - expected[i]));
            assertTrue(max < 1e-4, "max abs diff " + max);
            System.out.printf("chameleon VQ decoder parity: %.2e%n", max);
        }
    }
}
