package dev.glimpse.ocr;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The folded PP-OCRv4 graphs compute what the originals compute. */
class OcrGraphFoldingTest {

    static float[] run(byte[] model, long[] shape, float[] x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(model, o);
                 OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape);
                 OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
                FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                float[] out = new float[fb.remaining()];
                fb.get(out);
                return out;
            }
        }
    }

    static void check(Path model, long[] shape, int minConvAffine, int minHardSwish, int minAffineConv) throws Exception {
        byte[] original = Files.readAllBytes(model);
        GraphFolding.Result folded = GraphFolding.fold(original);
        GraphFolding.Stats s = folded.stats();
        assertTrue(s.convAffine() >= minConvAffine && s.hardSwish() >= minHardSwish && s.affineConv() >= minAffineConv, s.toString());
        int n = 1;
        for (long d : shape) n *= (int) d;
        float[] x = new float[n];
        Random rnd = new Random(42);
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        float[] a = run(original, shape, x);
        float[] b = run(folded.model(), shape, x);
        assertEquals(a.length, b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
        assertTrue(max < 1e-4, model.getFileName() + ": max abs difference " + max);
        // a graph that has nothing left to fold comes back with the same nodes
        GraphFolding.Stats again = GraphFolding.fold(folded.model()).stats();
        assertEquals(new GraphFolding.Stats(0, 0, 0), again);
    }

    @Test
    void recogniserMatchesAfterFolding() throws Exception {
        check(OcrModels.files().rec(), new long[]{1, 3, 48, 160}, 20, 20, 5);
    }

    @Test
    void detectorMatchesAfterFolding() throws Exception {
        check(OcrModels.files().det(), new long[]{1, 3, 96, 128}, 20, 0, 5);
    }
}
