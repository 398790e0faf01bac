package dev.glimpse.image;

import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.MatOfInt;
import org.opencv.imgcodecs.Imgcodecs;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** Builds encoded test images in memory (OpenCV imencode, ImageIO) and loads PNG fixtures independently of Glimpse. */
final class TestImages {

    private TestImages() {
    }

    /** OpenCV-encodes a Mat (BGR[A] order, as OpenCV expects) with the given extension and imwrite params. */
    static byte[] encode(Mat mat, String ext, int... params) {
        OpenCvLoader.ensureLoaded();
        MatOfByte buf = new MatOfByte();
        try {
            if (!Imgcodecs.imencode(ext, mat, buf, new MatOfInt(params))) {
                throw new IllegalStateException("imencode " + ext + " failed");
            }
            return buf.toArray();
        } finally {
            buf.release();
        }
    }

    static byte[] imageIo(BufferedImage image, String format) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (!ImageIO.write(image, format, out)) {
                throw new IllegalStateException("no ImageIO writer for " + format);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** GIF through the JDK writer, interlaced or not (the writer's default is interlaced). */
    static byte[] gif(BufferedImage image, boolean interlaced) {
        javax.imageio.ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
        try (ByteArrayOutputStream out = new ByteArrayOutputStream();
             javax.imageio.stream.ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            javax.imageio.ImageWriteParam param = writer.getDefaultWriteParam();
            param.setProgressiveMode(interlaced ? javax.imageio.ImageWriteParam.MODE_DEFAULT
                    : javax.imageio.ImageWriteParam.MODE_DISABLED);
            writer.setOutput(ios);
            writer.write(null, new javax.imageio.IIOImage(image, null, null), param);
            ios.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            writer.dispose();
        }
    }

    /** A classpath resource's bytes. */
    static byte[] resource(String path) {
        try (InputStream in = TestImages.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + path);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Loads an 8-bit RGB PNG resource through ImageIO, so golden checks do not depend on ImageDecoder. */
    static DecodedImage pngResource(String path) {
        try {
            BufferedImage img = ImageIO.read(new java.io.ByteArrayInputStream(resource(path)));
            int w = img.getWidth();
            int h = img.getHeight();
            byte[] rgb = new byte[w * h * 3];
            int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
            for (int i = 0; i < w * h; i++) {
                rgb[i * 3] = (byte) (argb[i] >> 16);
                rgb[i * 3 + 1] = (byte) (argb[i] >> 8);
                rgb[i * 3 + 2] = (byte) argb[i];
            }
            return new DecodedImage(w, h, rgb);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A filled RGB image. */
    static DecodedImage solid(int w, int h, int r, int g, int b) {
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) {
            rgb[i * 3] = (byte) r;
            rgb[i * 3 + 1] = (byte) g;
            rgb[i * 3 + 2] = (byte) b;
        }
        return new DecodedImage(w, h, rgb);
    }

    /** Big-endian u32. */
    static byte[] be32(long v) {
        return new byte[]{(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** PNG signature + an IHDR chunk claiming width x height (8-bit RGB), and nothing else: no pixel data. */
    static byte[] pngHeaderOnly(long width, long height) {
        byte[] sig = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
        byte[] ihdr = concat("IHDR".getBytes(java.nio.charset.StandardCharsets.US_ASCII), be32(width), be32(height),
                new byte[]{8, 2, 0, 0, 0});
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(ihdr);
        return concat(sig, be32(13), ihdr, be32(crc.getValue()));
    }
}
