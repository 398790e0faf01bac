package dev.glimpse.convert;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Safetensors files written byte by byte here, so the reader is checked against the format, not against itself. */
class SafeTensorsTest {

    @TempDir
    Path tmp;

    record T(String name, String dtype, long[] shape, byte[] data) {}

    static byte[] le(int bytesPer, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * bytesPer).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (bytesPer) {
                case 2 -> b.putShort((short) v);
                case 4 -> b.putInt((int) v);
                case 8 -> b.putLong(v);
                default -> throw new AssertionError();
            }
        }
        return b.array();
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    static String shapeJson(long[] shape) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) s.append(i > 0 ? "," : "").append(shape[i]);
        return s.append("]").toString();
    }

    /** Header with offsets laid out back to back, as the reference writer does. */
    static Path write(Path file, T... tensors) throws Exception {
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (T t : tensors) {
            long begin = data.size();
            data.write(t.data());
            h.append(",\"").append(t.name()).append("\":{\"dtype\":\"").append(t.dtype()).append("\",\"shape\":")
                    .append(shapeJson(t.shape())).append(",\"data_offsets\":[").append(begin).append(",").append(data.size()).append("]}");
        }
        return writeRaw(file, h.append("}").toString(), data.toByteArray());
    }

    static Path writeRaw(Path file, String header, byte[] data) throws Exception {
        byte[] hb = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(le(8, hb.length));
        out.write(hb);
        out.write(data);
        Files.write(file, out.toByteArray());
        return file;
    }

    static long[] shape(long... s) {
        return s;
    }

    @Test
    void readsF32WithShape() throws Exception {
        Path f = write(tmp.resolve("a.safetensors"),
                new T("w", "F32", shape(2, 3), f32(1f, -2.5f, 3.25f, 0f, 1e-30f, Float.MAX_VALUE)));
        SafeTensors st = SafeTensors.open(f);
        assertEquals(Set.of("w"), st.entries().keySet());
        SafeTensors.Entry e = st.entry("w");
        assertEquals("F32", e.dtype());
        assertArrayEquals(new long[]{2, 3}, e.shape());
        assertEquals(6, e.elementCount());
        assertArrayEquals(new float[]{1f, -2.5f, 3.25f, 0f, 1e-30f, Float.MAX_VALUE}, st.floats("w", 2, 3));
        assertArrayEquals(new float[]{1f, -2.5f, 3.25f, 0f, 1e-30f, Float.MAX_VALUE}, st.floats("w"));
        assertTrue(st.contains("w"));
        assertFalse(st.contains("__metadata__"));
    }

    @Test
    void readsF16IncludingSubnormalInfinityAndNegatives() throws Exception {
        // 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), 1023*2^-24 (largest subnormal), +inf, -inf, -0.0, 1/3 rounded
        Path f = write(tmp.resolve("h.safetensors"), new T("h", "F16", shape(9),
                le(2, 0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x7C00, 0xFC00, 0x8000, 0x3555)));
        float[] v = SafeTensors.open(f).floats("h", 9);
        assertEquals(1.0f, v[0]);
        assertEquals(-2.0f, v[1]);
        assertEquals(65504.0f, v[2]);
        assertEquals(5.9604645e-8f, v[3]);
        assertEquals(Math.scalb(1f, -24), v[3]);
        assertEquals(1023 * Math.scalb(1f, -24), v[4]);
        assertEquals(Float.POSITIVE_INFINITY, v[5]);
        assertEquals(Float.NEGATIVE_INFINITY, v[6]);
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(v[7]));
        assertEquals(0.333251953125f, v[8]);
    }

    @Test
    void readsBf16() throws Exception {
        Path f = write(tmp.resolve("b.safetensors"), new T("b", "BF16", shape(2, 2),
                le(2, 0x3F80, 0xC049, 0x7F80, 0x0001)));
        float[] v = SafeTensors.open(f).floats("b", 2, 2);
        assertEquals(1.0f, v[0]);
        assertEquals(-3.140625f, v[1]);
        assertEquals(Float.POSITIVE_INFINITY, v[2]);
        assertEquals(Float.intBitsToFloat(0x00010000), v[3]);
    }

    @Test
    void readsF64AsFloats() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(0.1).putDouble(-1e300);
        Path f = write(tmp.resolve("d.safetensors"), new T("d", "F64", shape(2), b.array()));
        assertArrayEquals(new float[]{0.1f, Float.NEGATIVE_INFINITY}, SafeTensors.open(f).floats("d"));
    }

    @Test
    void readsI64AndI32AsLongs() throws Exception {
        Path f = write(tmp.resolve("i.safetensors"),
                new T("ids", "I64", shape(3), le(8, 0, -1, Long.MAX_VALUE)),
                new T("small", "I32", shape(1, 2), le(4, 7, -2147483648L)));
        SafeTensors st = SafeTensors.open(f);
        assertArrayEquals(new long[]{0, -1, Long.MAX_VALUE}, SafeTensors.toLongs(st.entry("ids")));
        assertArrayEquals(new long[]{7, Integer.MIN_VALUE}, SafeTensors.toLongs(st.entry("small")));
        // An integer tensor is not silently reinterpreted as floats, nor a float tensor as longs.
        String msg = assertThrows(IllegalArgumentException.class, () -> st.floats("ids")).getMessage();
        assertTrue(msg.contains("ids") && msg.contains("I64"), msg);
        Path g = write(tmp.resolve("g.safetensors"), new T("x", "F32", shape(1), f32(1f)));
        SafeTensors st2 = SafeTensors.open(g);
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.toLongs(st2.entry("x")));
    }

    @Test
    void expectedShapeMismatchNamesTheTensor() throws Exception {
        Path f = write(tmp.resolve("a.safetensors"), new T("layer.0.weight", "F32", shape(2, 3), f32(1, 2, 3, 4, 5, 6)));
        SafeTensors st = SafeTensors.open(f);
        String msg = assertThrows(IllegalArgumentException.class, () -> st.floats("layer.0.weight", 3, 2)).getMessage();
        assertTrue(msg.contains("layer.0.weight"), msg);
        assertTrue(msg.contains("[2, 3]") && msg.contains("[3, 2]"), msg);
    }

    @Test
    void headerShapeDisagreeingWithByteCountNamesTheTensor() throws Exception {
        // shape says 4 floats (16 bytes), offsets give 12
        Path f = writeRaw(tmp.resolve("a.safetensors"),
                "{\"bad.tensor\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}", f32(1, 2, 3));
        String msg = assertThrows(IllegalArgumentException.class, () -> SafeTensors.open(f)).getMessage();
        assertTrue(msg.contains("bad.tensor"), msg);
        assertTrue(msg.contains("12 bytes") && msg.contains("16"), msg);
    }

    @Test
    void offsetsPastTheEndAreRejected() throws Exception {
        Path f = writeRaw(tmp.resolve("a.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", f32(1, 2, 3));
        String msg = assertThrows(IllegalArgumentException.class, () -> SafeTensors.open(f)).getMessage();
        assertTrue(msg.contains("tensor w") && msg.contains("outside the file"), msg);

        Path g = writeRaw(tmp.resolve("b.safetensors"),
                "{\"v\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", f32(1, 2, 3));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SafeTensors.open(g)).getMessage().contains("tensor v"));
    }

    @Test
    void badHeaderLengthAndTinyFile() throws Exception {
        Path tiny = Files.write(tmp.resolve("t.safetensors"), new byte[]{1, 2, 3});
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SafeTensors.open(tiny)).getMessage().contains("too small"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(le(8, 1000));
        out.write("{}".getBytes(StandardCharsets.UTF_8));
        Path longHeader = Files.write(tmp.resolve("l.safetensors"), out.toByteArray());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SafeTensors.open(longHeader)).getMessage()
                .contains("bad safetensors header length 1000"));
    }

    @Test
    void unknownTensorNameIsAnError() throws Exception {
        Path f = write(tmp.resolve("a.safetensors"), new T("w", "F32", shape(1), f32(1)));
        SafeTensors st = SafeTensors.open(f);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> st.entry("nope")).getMessage().contains("'nope'"));
    }

    @Test
    void readsAShardedDirectoryAsOneMap() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("ckpt"));
        write(dir.resolve("model-00001-of-00002.safetensors"),
                new T("a", "F32", shape(2), f32(1, 2)), new T("b", "BF16", shape(1), le(2, 0x4000)));
        write(dir.resolve("model-00002-of-00002.safetensors"), new T("c", "I64", shape(2), le(8, 5, 6)));
        Files.writeString(dir.resolve("config.json"), "{}"); // not a shard; ignored
        SafeTensors st = SafeTensors.openDirectory(dir);
        assertEquals(List.of("a", "b", "c"), new ArrayList<>(st.entries().keySet()));
        assertArrayEquals(new float[]{1, 2}, st.floats("a", 2));
        assertArrayEquals(new float[]{2}, st.floats("b", 1));
        assertArrayEquals(new long[]{5, 6}, SafeTensors.toLongs(st.entry("c")));
    }

    @Test
    void aTensorInTwoShardsIsAnError() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("ckpt"));
        write(dir.resolve("a.safetensors"), new T("dup.weight", "F32", shape(1), f32(1)));
        write(dir.resolve("b.safetensors"), new T("dup.weight", "F32", shape(1), f32(2)), new T("other", "F32", shape(1), f32(3)));
        String msg = assertThrows(IllegalArgumentException.class, () -> SafeTensors.openDirectory(dir)).getMessage();
        assertTrue(msg.contains("dup.weight") && msg.contains("two shards"), msg);
    }

    @Test
    void aDirectoryWithoutShardsIsAnError() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SafeTensors.openDirectory(dir)).getMessage()
                .contains("no *.safetensors"));
    }

    @Test
    void halfToFloatKnownBitPatterns() {
        assertEquals(0.0f, SafeTensors.halfToFloat((short) 0x0000));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(SafeTensors.halfToFloat((short) 0x8000)));
        assertEquals(1.0f, SafeTensors.halfToFloat((short) 0x3C00));
        assertEquals(-1.0f, SafeTensors.halfToFloat((short) 0xBC00));
        assertEquals(0.5f, SafeTensors.halfToFloat((short) 0x3800));
        assertEquals(1.0009765625f, SafeTensors.halfToFloat((short) 0x3C01)); // 1 + 2^-10
        assertEquals(-2.0f, SafeTensors.halfToFloat((short) 0xC000));
        assertEquals(65504.0f, SafeTensors.halfToFloat((short) 0x7BFF));
        assertEquals(-65504.0f, SafeTensors.halfToFloat((short) 0xFBFF));
        assertEquals(Math.scalb(1f, -14), SafeTensors.halfToFloat((short) 0x0400)); // smallest normal
        assertEquals(Math.scalb(1f, -24), SafeTensors.halfToFloat((short) 0x0001)); // smallest subnormal
        assertEquals(-Math.scalb(1f, -24), SafeTensors.halfToFloat((short) 0x8001));
        assertEquals(1023 * Math.scalb(1f, -24), SafeTensors.halfToFloat((short) 0x03FF));
        assertEquals(Math.scalb(1f, -15), SafeTensors.halfToFloat((short) 0x0200));
        assertEquals(Float.POSITIVE_INFINITY, SafeTensors.halfToFloat((short) 0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, SafeTensors.halfToFloat((short) 0xFC00));
        assertTrue(Float.isNaN(SafeTensors.halfToFloat((short) 0x7E00)));
        assertTrue(Float.isNaN(SafeTensors.halfToFloat((short) 0x7C01)));
        // Exhaustive: every finite half is reproduced by the textbook formula (-1)^s * 2^(e-15) * (1 + m/1024).
        for (int bits = 0; bits < 0x10000; bits++) {
            int e = (bits >>> 10) & 0x1f, m = bits & 0x3ff;
            if (e == 0x1f) continue;
            double mag = e == 0 ? m * Math.pow(2, -24) : Math.pow(2, e - 15) * (1 + m / 1024.0);
            double expected = (bits & 0x8000) != 0 ? -mag : mag;
            assertEquals((float) expected, SafeTensors.halfToFloat((short) bits), "bits 0x" + Integer.toHexString(bits));
        }
    }
}
