package dev.glimpse.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reader for Hugging Face safetensors files: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}} and the raw little-endian tensor bytes. Files are memory-mapped (read-only), so a
 * multi-gigabyte checkpoint costs no heap until a tensor is converted. Several shards of one checkpoint are read as one map.
 */
public final class SafeTensors {

    /** One tensor's metadata and a read-only view of its bytes inside the mapped file. */
    public record Entry(String name, String dtype, long[] shape, ByteBuffer bytes) {
        public long elementCount() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private final Map<String, Entry> entries;

    private SafeTensors(Map<String, Entry> entries) {
        this.entries = entries;
    }

    /** Opens every *.safetensors file of a checkpoint directory (sharded or not). */
    public static SafeTensors openDirectory(Path dir) {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.safetensors")) {
            ds.forEach(files::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        if (files.isEmpty()) throw new IllegalArgumentException("no *.safetensors file in " + dir);
        files.sort(null);
        Map<String, Entry> all = new TreeMap<>();
        for (Path f : files) {
            for (Entry e : open(f).entries.values()) {
                if (all.put(e.name(), e) != null) throw new IllegalArgumentException("tensor " + e.name() + " appears in two shards");
            }
        }
        return new SafeTensors(all);
    }

    public static SafeTensors open(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new IllegalArgumentException(file + ": too small to be a safetensors file");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > 100_000_000 || 8 + headerLen > size) {
                throw new IllegalArgumentException(file + ": bad safetensors header length " + headerLen);
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            ch.read(header, 8);
            JsonNode root = new ObjectMapper().readTree(header.array());
            long dataStart = 8 + headerLen;
            Map<String, Entry> map = new TreeMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                if (f.getKey().equals("__metadata__")) continue;
                JsonNode n = f.getValue();
                if (!n.path("dtype").isTextual() || !n.path("shape").isArray() || !n.path("data_offsets").isArray()
                        || n.path("data_offsets").size() != 2) {
                    throw new IllegalArgumentException(file + ": header entry for tensor " + f.getKey()
                            + " needs dtype, shape and data_offsets [begin, end]");
                }
                String dtype = n.get("dtype").asText();
                try {
                    bytesPerElement(dtype);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(file + ": tensor " + f.getKey() + ": " + e.getMessage(), e);
                }
                JsonNode shapeNode = n.get("shape");
                long[] shape = new long[shapeNode.size()];
                for (int i = 0; i < shape.length; i++) shape[i] = shapeNode.get(i).asLong();
                long begin = n.get("data_offsets").get(0).asLong();
                long end = n.get("data_offsets").get(1).asLong();
                if (begin < 0 || end < begin || dataStart + end > size) {
                    throw new IllegalArgumentException(file + ": tensor " + f.getKey() + " lies outside the file");
                }
                // One mapping per tensor keeps each under the 2 GiB ByteBuffer limit.
                MappedByteBuffer mb = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + begin, end - begin);
                mb.order(ByteOrder.LITTLE_ENDIAN);
                Entry e = new Entry(f.getKey(), dtype, shape, mb);
                long expected = e.elementCount() * bytesPerElement(dtype);
                if (expected != end - begin) {
                    throw new IllegalArgumentException(file + ": tensor " + f.getKey() + " has " + (end - begin)
                            + " bytes, shape and dtype say " + expected);
                }
                map.put(f.getKey(), e);
            }
            return new SafeTensors(map);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    static int bytesPerElement(String dtype) {
        return switch (dtype) {
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "F64", "I64", "U64" -> 8;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> throw new IllegalArgumentException("unknown safetensors dtype " + dtype);
        };
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException("checkpoint has no tensor '" + name + "'");
        return e;
    }

    /** The tensor as fp32, converting from F16 / BF16 / F64; the shape must match {@code expectedShape}. */
    public float[] floats(String name, long... expectedShape) {
        Entry e = entry(name);
        if (expectedShape.length > 0 && !java.util.Arrays.equals(e.shape(), expectedShape)) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + java.util.Arrays.toString(e.shape())
                    + ", config.json implies " + java.util.Arrays.toString(expectedShape));
        }
        return toFloats(e);
    }

    public static float[] toFloats(Entry e) {
        long n = e.elementCount();
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor " + e.name() + " too large for one array");
        float[] out = new float[(int) n];
        ByteBuffer b = e.bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (e.dtype()) {
            case "F32" -> b.asFloatBuffer().get(out);
            case "F16" -> {
                for (int i = 0; i < out.length; i++) out[i] = halfToFloat(b.getShort(2 * i));
            }
            case "BF16" -> {
                for (int i = 0; i < out.length; i++) out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
            }
            case "F64" -> {
                for (int i = 0; i < out.length; i++) out[i] = (float) b.getDouble(8 * i);
            }
            default -> throw new IllegalArgumentException("tensor " + e.name() + " has dtype " + e.dtype()
                    + "; expected one of F32, F16, BF16, F64");
        }
        return out;
    }

    /** IEEE 754 binary16 to fp32 (Float.float16ToFloat is Java 20+; we target 17). Exact, subnormals included. */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp == 0) {
            float v = mant * 0x1p-24f; // subnormal: mant * 2^-24, exact in fp32
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    public static long[] toLongs(Entry e) {
        long[] out = new long[(int) e.elementCount()];
        ByteBuffer b = e.bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (e.dtype()) {
            case "I64" -> b.asLongBuffer().get(out);
            case "I32" -> {
                for (int i = 0; i < out.length; i++) out[i] = b.getInt(4 * i);
            }
            default -> throw new IllegalArgumentException("tensor " + e.name() + " has dtype " + e.dtype() + "; expected I64 or I32");
        }
        return out;
    }
}
