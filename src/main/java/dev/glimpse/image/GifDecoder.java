package dev.glimpse.image;

import dev.glimpse.error.GlimpseException;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * First frame of a GIF through javax.imageio (OpenCV 4.9 has no GIF codec), placed at its offset on a white canvas of
 * the logical-screen size; transparent pixels and screen area outside the frame become white.
 *
 * <p>Interlaced frames are de-interlaced here, not by ImageIO: the JDK 17 GIF reader drops rows of interlaced frames
 * 2 to 4 pixels high (it does not skip a pass whose first row is already past the bottom). So the interlace flag is
 * cleared in a copy of the bytes, ImageIO returns the rows in stream order, and they are put back in place here.
 */
final class GifDecoder {

    // GIF interlace passes: (first row, row step).
    private static final int[][] PASSES = {{0, 8}, {4, 8}, {2, 4}, {1, 2}};

    private GifDecoder() {
    }

    static DecodedImage decode(byte[] bytes, ImageHeader header, ImageLimits limits) {
        Frame frame = Frame.locate(bytes);
        // The frame may claim a larger size than the logical screen; check before ImageIO allocates it.
        limits.requireDimensionsWithin(frame.width, frame.height);
        byte[] input = bytes;
        if (frame.interlaced) {
            input = bytes.clone();
            input[frame.packedOffset] &= (byte) ~0x40;
        }
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName("gif");
        if (!readers.hasNext()) {
            throw GlimpseException.unsupported("unsupported_image", "messages", "this JVM has no GIF reader");
        }
        ImageReader reader = readers.next(); // a fresh reader per call: readers are not thread-safe
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(input))) {
            reader.setInput(in, true, false); // metadata on: the transparent index lives in it
            BufferedImage image = reader.read(0);
            return onWhiteCanvas(image, frame, header.width(), header.height());
        } catch (IOException | RuntimeException e) {
            throw GlimpseException.invalid("invalid_image", "messages",
                    "could not decode the GIF image: " + e.getMessage(), e);
        } finally {
            reader.dispose();
        }
    }

    /** Stream row i of an interlaced frame of the given height -> its row in the picture. */
    static int[] interlacedRows(int height) {
        int[] rows = new int[height];
        int i = 0;
        for (int[] pass : PASSES) {
            for (int y = pass[0]; y < height; y += pass[1]) {
                rows[i++] = y;
            }
        }
        return rows;
    }

    // image: the decoded frame, rows in stream order when the frame is interlaced.
    private static DecodedImage onWhiteCanvas(BufferedImage image, Frame frame, int width, int height) {
        byte[] rgb = new byte[width * height * 3];
        Arrays.fill(rgb, (byte) 255);
        int fw = image.getWidth();
        int fh = image.getHeight();
        int[] rows = frame.interlaced ? interlacedRows(fh) : null;
        int[] argb = new int[fw];
        for (int streamRow = 0; streamRow < fh; streamRow++) {
            int y = frame.top + (rows == null ? streamRow : rows[streamRow]);
            if (y >= height) {
                continue; // clipped to the logical screen
            }
            image.getRGB(0, streamRow, fw, 1, argb, 0, fw); // non-premultiplied ARGB
            for (int fx = 0; fx < fw && frame.left + fx < width; fx++) {
                int v = argb[fx];
                int a = v >>> 24;
                int o = (y * width + frame.left + fx) * 3;
                rgb[o] = (byte) ImageDecoder.onWhite((v >> 16) & 0xFF, a);
                rgb[o + 1] = (byte) ImageDecoder.onWhite((v >> 8) & 0xFF, a);
                rgb[o + 2] = (byte) ImageDecoder.onWhite(v & 0xFF, a);
            }
        }
        return new DecodedImage(width, height, rgb);
    }

    /** The first image descriptor: position, size, interlace flag and where its packed-fields byte is. */
    private record Frame(int left, int top, int width, int height, boolean interlaced, int packedOffset) {

        // Header(6) + logical screen descriptor(7) [+ global colour table], then blocks: 0x21 extensions (label, then
        // data sub-blocks each prefixed by its length, ended by a 0 length) until 0x2C, the image descriptor:
        // left(2) top(2) width(2) height(2) packed(1), all little-endian.
        static Frame locate(byte[] b) {
            int pos = 13;
            if (b.length > 10 && (b[10] & 0x80) != 0) {
                pos += 3 << ((b[10] & 0x07) + 1);
            }
            while (pos < b.length) {
                int block = b[pos] & 0xFF;
                if (block == 0x2C) {
                    if (pos + 10 > b.length) {
                        break;
                    }
                    int w = u16(b, pos + 5);
                    int h = u16(b, pos + 7);
                    if (w == 0 || h == 0) {
                        throw ImageHeader.invalid("corrupt GIF: first frame is " + w + "x" + h);
                    }
                    return new Frame(u16(b, pos + 1), u16(b, pos + 3), w, h, (b[pos + 9] & 0x40) != 0, pos + 9);
                }
                if (block != 0x21 || pos + 2 > b.length) {
                    throw ImageHeader.invalid("corrupt GIF: unexpected block 0x" + Integer.toHexString(block)
                            + " before the first frame");
                }
                pos += 2; // introducer and label
                while (pos < b.length && b[pos] != 0) {
                    pos += (b[pos] & 0xFF) + 1;
                }
                pos++; // block terminator
            }
            throw ImageHeader.invalid("corrupt GIF: no image data");
        }

        private static int u16(byte[] b, int i) {
            return (b[i] & 0xFF) | ((b[i + 1] & 0xFF) << 8);
        }
    }
}
