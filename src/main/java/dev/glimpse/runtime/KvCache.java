package dev.glimpse.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import java.util.List;

/**
 * The KV cache of one sequence while it prefills (batch of one). Holds the decoder Result of the last step, whose present
 * tensors are the next step's past inputs without a host copy; closing the cache frees them.
 */
public final class KvCache implements AutoCloseable {

    private final CacheLayout layout;
    private OrtSession.Result last;
    private int length;

    KvCache(CacheLayout layout) {
        this.layout = layout;
    }

    public int length() {
        return length;
    }

    /** Bytes held on the device (or host) for this sequence. */
    public long bytes() {
        return length * layout.bytesPerToken();
    }

    /** Present tensor i of the last step, (1, [heads,] length, dim); owned by this cache. */
    OnnxTensor tensor(int i) {
        return (OnnxTensor) last.get(layout.presentNames().get(i)).orElseThrow();
    }

    /** Past input i for the next step: the last present tensor, or an empty one (owned by {@code owned}) before the first. */
    OnnxTensor past(OrtEnvironment env, int i, List<OnnxTensor> owned) {
        if (last == null) {
            OnnxTensor empty = Tensors.floats(env, new float[0], layout.shape(1, 0));
            owned.add(empty);
            return empty;
        }
        return tensor(i);
    }

    /** Adopts a decoder Result (this cache now owns it) after a step that made the sequence {@code newLength} long. */
    void advance(OrtSession.Result r, int newLength) {
        if (last != null) last.close();
        last = r;
        length = newLength;
    }

    @Override
    public void close() {
        if (last != null) last.close();
        last = null;
        length = 0;
    }
}
