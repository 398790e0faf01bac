package dev.glimpse.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;

/** OnnxTensor construction from direct native-order buffers (ORT then wraps them without a copy). Callers close the tensor. */
public final class Tensors {
    private Tensors() {}

    public static OnnxTensor floats(OrtEnvironment env, float[] data, long... shape) {
        FloatBuffer b = ByteBuffer.allocateDirect(data.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(data).flip();
        try {
            return OnnxTensor.createTensor(env, b, shape);
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    public static OnnxTensor longs(OrtEnvironment env, long[] data, long... shape) {
        LongBuffer b = ByteBuffer.allocateDirect(data.length * 8).order(ByteOrder.nativeOrder()).asLongBuffer();
        b.put(data).flip();
        try {
            return OnnxTensor.createTensor(env, b, shape);
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Copies a float tensor out to the heap (the caller may then close its owner). */
    public static float[] toFloats(OnnxTensor t) {
        FloatBuffer fb = t.getFloatBuffer();
        float[] out = new float[fb.remaining()];
        fb.get(out);
        return out;
    }
}
