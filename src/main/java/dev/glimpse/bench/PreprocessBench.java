package dev.glimpse.bench;

import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.image.KimiVlPreprocessor;
import dev.glimpse.image.PixelPatches;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * (d) Image preprocessing throughput: what the server's image workers do per image, i.e. {@link ImageDecoder#decode}
 * (OpenCV JPEG decode to RGB) then {@link KimiVlPreprocessor#process} (resize to the token limit when over it, pad to the
 * merge grid, normalise, patchify), on encoded bytes already in memory.
 */
final class PreprocessBench {
    private PreprocessBench() {}

    /** Keeps results observable so no work can be optimised away. */
    static volatile double sink;

    static double one(byte[] jpeg, KimiVlPreprocessor pre) {
        DecodedImage img = ImageDecoder.decode(jpeg, ImageLimits.DEFAULT);
        PixelPatches p = pre.process(img);
        return p.pixelValues()[p.pixelValues().length / 2] + p.patches();
    }

    /** Images/s of one pass over the set on the calling thread. */
    static double singleThread(List<byte[]> jpegs, KimiVlPreprocessor pre) {
        long t0 = System.nanoTime();
        double acc = 0;
        for (byte[] j : jpegs) acc += one(j, pre);
        long dt = System.nanoTime() - t0;
        sink = acc;
        return jpegs.size() / (dt / 1e9);
    }

    /** Images/s of one pass over the set on a pool (one task per image). */
    static double pool(List<byte[]> jpegs, KimiVlPreprocessor pre, ExecutorService pool) throws InterruptedException {
        List<Callable<Double>> tasks = new ArrayList<>();
        for (byte[] j : jpegs) tasks.add(() -> one(j, pre));
        long t0 = System.nanoTime();
        double acc = 0;
        for (Future<Double> f : pool.invokeAll(tasks)) {
            try {
                acc += f.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("preprocessing failed", e.getCause());
            }
        }
        long dt = System.nanoTime() - t0;
        sink = acc;
        return jpegs.size() / (dt / 1e9);
    }

    /** [0] single-thread runs, [1] pool runs, images/s; one warm-up pass of each, then runs interleaved. */
    static double[][] measure(List<byte[]> jpegs, KimiVlPreprocessor pre, int threads, int runs) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "bench-preprocess");
            t.setDaemon(true);
            return t;
        });
        try {
            singleThread(jpegs, pre);
            pool(jpegs, pre, pool);
            double[][] out = new double[2][runs];
            for (int r = 0; r < runs; r++) {
                out[0][r] = singleThread(jpegs, pre);
                out[1][r] = pool(jpegs, pre, pool);
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }
}
