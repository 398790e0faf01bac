package dev.glimpse.image;

/**
 * Loads OpenCV's native library (bundled in org.openpnp:opencv) once per JVM. {@code loadLocally()} extracts the
 * natives for this platform to a temp dir and System.load()s them; {@code loadShared()} is not used because it does not
 * work on Java 12+.
 */
public final class OpenCvLoader {

    private OpenCvLoader() {
    }

    /** Idempotent and thread-safe: the holder class is initialised exactly once, under the JVM's class-init lock. */
    public static void ensureLoaded() {
        Holder.touch();
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
