package dev.glimpse.image;

import dev.glimpse.error.GlimpseException;

/**
 * Loads OpenCV's native library (bundled in org.openpnp:opencv) once per JVM. {@code loadLocally()} extracts the
 * natives for this platform to a temp dir and System.load()s them; {@code loadShared()} is not used because it does not
 * work on Java 12+.
 */
public final class OpenCvLoader {

    private OpenCvLoader() {
    }

    /**
     * Idempotent and thread-safe: the holder class is initialised exactly once, under the JVM's class-init lock.
     *
     * @throws GlimpseException 500 if the native library cannot be loaded (a server fault, not the client's); the
     *                          JVM remembers a failed class init, so later calls fail the same way without retrying
     */
    public static void ensureLoaded() {
        try {
            Holder.touch();
        } catch (LinkageError e) { // ExceptionInInitializerError, NoClassDefFoundError, UnsatisfiedLinkError
            throw GlimpseException.internal("OpenCV native library could not be loaded", e);
        }
    }

    private static final class Holder {
        static {
            nu.pattern.OpenCV.loadLocally();
        }

        static void touch() {
            // initialising this class is the work
        }
    }
}
