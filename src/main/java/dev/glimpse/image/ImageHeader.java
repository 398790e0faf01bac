package dev.glimpse.image;

import dev.glimpse.error.GlimpseException;

/**
 * Format and canvas size of an encoded image, read from its first bytes without decoding any pixel. This is what lets
 * {@link ImageDecoder} refuse a decompression bomb (a few hundred bytes claiming 30000x30000) before a codec allocates
 * the canvas.
 *
 * <p>For JPEG the size is the stored frame size, before any EXIF rotation (which only swaps the two sides, so the
 * limits give the same answer either way). For GIF it is the logical screen.
 */
public record ImageHeader(ImageFormat format, int width, int height) {

    static final String UNSUPPORTED = "not a supported image (PNG, JPEG, WebP, BMP, GIF)";

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    public ImageHeader {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
    }

    /** Sniffs the header, then applies {@code limits} to the encoded length and the claimed size (413 if over). */
    public static ImageHeader read(byte[] bytes, ImageLimits limits) {
        if (bytes != null) {
            limits.requireBytesWithin(bytes.length);
        }
        ImageHeader header = read(bytes);
        limits.requireDimensionsWithin(header.width, header.height);
        return header;
    }

    /**
     * Sniffs the format from the magic bytes and reads the claimed size.
     *
     * @throws GlimpseException 400 invalid_image when the bytes are empty, of an unknown format, or the header is
     *                          truncated or malformed
     */
    public static ImageHeader read(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw invalid("empty image");
        }
        Bytes b = new Bytes(bytes);
        if (b.startsWith(PNG_SIGNATURE)) {
            return png(b);
        }
        if (b.length() >= 3 && b.u8(0) == 0xFF && b.u8(1) == 0xD8 && b.u8(2) == 0xFF) {
            return jpeg(b);
        }
        if (b.startsWithAscii(0, "GIF87a") || b.startsWithAscii(0, "GIF89a")) {
            return gif(b);
        }
        if (b.startsWithAscii(0, "RIFF") && b.startsWithAscii(8, "WEBP")) {
            return webp(b);
        }
        if (b.startsWithAscii(0, "BM")) {
            return bmp(b);
        }
        throw invalid(UNSUPPORTED);
    }

    // PNG: signature(8) | IHDR chunk: length(4) "IHDR"(4) width(u32 BE) height(u32 BE) ...
    private static ImageHeader png(Bytes b) {
        b.require(24, ImageFormat.PNG);
        if (!b.startsWithAscii(12, "IHDR")) {
            throw invalid("corrupt PNG: the first chunk is not IHDR");
        }
        long w = b.u32be(16);
        long h = b.u32be(20);
        // The PNG spec caps both at 2^31-1; a larger value is a corrupt file, not a big one.
        if (w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
            throw invalid("corrupt PNG: IHDR size " + w + "x" + h + " is out of range");
        }
        return sized(ImageFormat.PNG, w, h);
    }

    // JPEG: SOI then marker segments (FF xx [len(2, includes itself) payload]); the size is in the first SOFn
    // segment: precision(1) height(2) width(2). Standalone markers (TEM, RSTn, SOI) carry no length.
    private static ImageHeader jpeg(Bytes b) {
        int pos = 2;
        while (true) {
            b.require(pos + 2, ImageFormat.JPEG);
            if (b.u8(pos) != 0xFF) {
                throw invalid("corrupt JPEG: expected a marker at byte " + pos);
            }
            while (b.u8(pos) == 0xFF) { // fill bytes may precede any marker
                pos++;
                b.require(pos + 1, ImageFormat.JPEG);
            }
            int marker = b.u8(pos);
            pos++;
            if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) {
                continue;
            }
            if (marker == 0xD9 || marker == 0xDA || marker == 0x00) {
                throw invalid("corrupt JPEG: no frame header (SOF) before the image data");
            }
            b.require(pos + 2, ImageFormat.JPEG);
            int length = b.u16be(pos);
            if (length < 2) {
                throw invalid("corrupt JPEG: segment length " + length + " at byte " + pos);
            }
            if (isStartOfFrame(marker)) {
                b.require(pos + 7, ImageFormat.JPEG);
                int h = b.u16be(pos + 3);
                int w = b.u16be(pos + 5);
                if (h == 0) {
                    // height 0 means "given later by a DNL marker": legal but unsupported by the codecs we use.
                    throw invalid("unsupported JPEG: frame height defined by a DNL marker");
                }
                return sized(ImageFormat.JPEG, w, h);
            }
            pos += length;
        }
    }

    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    private static boolean isStartOfFrame(int marker) {
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    // GIF: "GIF8?a" then the logical screen descriptor: width(u16 LE) height(u16 LE).
    private static ImageHeader gif(Bytes b) {
        b.require(10, ImageFormat.GIF);
        return sized(ImageFormat.GIF, b.u16le(6), b.u16le(8));
    }

    // BMP: file header(14) then the DIB header, whose first u32 is its own size. The 12-byte OS/2 core header has
    // u16 sizes; every later one (40, 52, 56, 64, 108, 124) has i32 width, i32 height, negative height = top-down.
    private static ImageHeader bmp(Bytes b) {
        b.require(18, ImageFormat.BMP);
        long dibSize = b.u32le(14);
        if (dibSize == 12) {
            b.require(26, ImageFormat.BMP);
            return sized(ImageFormat.BMP, b.u16le(18), b.u16le(20));
        }
        if (dibSize < 16) {
            throw invalid("corrupt BMP: DIB header size " + dibSize);
        }
        b.require(26, ImageFormat.BMP);
        long w = b.i32le(18);
        long h = Math.abs((long) b.i32le(22));
        return sized(ImageFormat.BMP, w, h);
    }

    // WebP: "RIFF" size "WEBP" then the first chunk: fourcc(4) size(4) payload.
    //  "VP8 " (lossy): frame tag(3) start code 9D 01 2A, width(u16 LE, low 14 bits), height(u16 LE, low 14 bits)
    //  "VP8L" (lossless): signature 0x2F then 32 bits LE: width-1 (14 bits), height-1 (14 bits), ...
    //  "VP8X" (extended): flags(1) reserved(3) canvas width-1 (u24 LE) canvas height-1 (u24 LE)
    private static ImageHeader webp(Bytes b) {
        b.require(16, ImageFormat.WEBP);
        if (b.startsWithAscii(12, "VP8 ")) {
            b.require(30, ImageFormat.WEBP);
            if (b.u8(23) != 0x9D || b.u8(24) != 0x01 || b.u8(25) != 0x2A) {
                throw invalid("corrupt WebP: missing VP8 start code");
            }
            return sized(ImageFormat.WEBP, b.u16le(26) & 0x3FFF, b.u16le(28) & 0x3FFF);
        }
        if (b.startsWithAscii(12, "VP8L")) {
            b.require(25, ImageFormat.WEBP);
            if (b.u8(20) != 0x2F) {
                throw invalid("corrupt WebP: missing VP8L signature");
            }
            long bits = b.u32le(21);
            return sized(ImageFormat.WEBP, (bits & 0x3FFF) + 1, ((bits >>> 14) & 0x3FFF) + 1);
        }
        if (b.startsWithAscii(12, "VP8X")) {
            b.require(30, ImageFormat.WEBP);
            return sized(ImageFormat.WEBP, b.u24le(24) + 1, b.u24le(27) + 1);
        }
        throw invalid("corrupt WebP: unknown first chunk");
    }

    private static ImageHeader sized(ImageFormat format, long w, long h) {
        if (w <= 0 || h <= 0 || w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
            throw invalid("corrupt " + format + ": header claims a size of " + w + "x" + h);
        }
        return new ImageHeader(format, (int) w, (int) h);
    }

    static GlimpseException invalid(String message) {
        return GlimpseException.invalid("invalid_image", "messages", message);
    }

    /** Bounds-checked little/big-endian reads over the encoded bytes. */
    private record Bytes(byte[] a) {
        int length() {
            return a.length;
        }

        void require(int n, ImageFormat format) {
            if (a.length < n) {
                throw invalid("truncated " + format + " header (" + a.length + " bytes)");
            }
        }

        boolean startsWith(byte[] prefix) {
            if (a.length < prefix.length) {
                return false;
            }
            for (int i = 0; i < prefix.length; i++) {
                if (a[i] != prefix[i]) {
                    return false;
                }
            }
            return true;
        }

        boolean startsWithAscii(int at, String s) {
            if (a.length < at + s.length()) {
                return false;
            }
            for (int i = 0; i < s.length(); i++) {
                if (a[at + i] != (byte) s.charAt(i)) {
                    return false;
                }
            }
            return true;
        }

        int u8(int i) {
            return a[i] & 0xFF;
        }

        int u16be(int i) {
            return (u8(i) << 8) | u8(i + 1);
        }

        int u16le(int i) {
            return u8(i) | (u8(i + 1) << 8);
        }

        int u24le(int i) {
            return u8(i) | (u8(i + 1) << 8) | (u8(i + 2) << 16);
        }

        long u32be(int i) {
            return ((long) u16be(i) << 16) | u16be(i + 2);
        }

        long u32le(int i) {
            return u16le(i) | ((long) u16le(i + 2) << 16);
        }

        int i32le(int i) {
            return (int) u32le(i);
        }
    }
}
