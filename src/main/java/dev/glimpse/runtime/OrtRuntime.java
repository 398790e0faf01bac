package dev.glimpse.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * The process-wide ONNX Runtime environment and the session options every model uses. Device choice: {@code cpu};
 * {@code cuda} (fails if the CUDA provider is not in this build or cannot start); {@code auto} (CUDA when available).
 */
public final class OrtRuntime {

    private static final Logger log = LoggerFactory.getLogger(OrtRuntime.class);

    public enum Device { CPU, CUDA, AUTO }

    private final OrtEnvironment env;
    private final Device requested;
    private final int intraOpThreads;
    private final boolean cudaAvailable;
    private final boolean allowSpinning;

    public OrtRuntime(String device, int intraOpThreads) {
        this(device, intraOpThreads, false);
    }

    /**
     * @param allowSpinning whether ONNX Runtime's pool threads busy-wait between parallel sections. Off by default: on a
     *                      machine shared with other work (image workers, HTTP, other processes) spinning threads were
     *                      measured to take a core from useful work and slow the recogniser 2-4x (bench/ocr/RESULTS.md).
     */
    public OrtRuntime(String device, int intraOpThreads, boolean allowSpinning) {
        this.allowSpinning = allowSpinning;
        this.requested = parseDevice(device);
        this.intraOpThreads = intraOpThreads;
        this.env = OrtEnvironment.getEnvironment();
        this.cudaAvailable = OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
        if (requested == Device.CUDA && !cudaAvailable) {
            throw new IllegalStateException("glimpse.runtime.device=cuda but this ONNX Runtime build has no CUDA provider "
                    + "(available: " + OrtEnvironment.getAvailableProviders() + "); build with -Pcuda or use cpu|auto");
        }
    }

    static Device parseDevice(String s) {
        try {
            return Device.valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("glimpse.runtime.device '" + s + "' is not valid; valid: "
                    + Arrays.toString(Arrays.stream(Device.values()).map(d -> d.name().toLowerCase(Locale.ROOT)).toArray()));
        }
    }

    public boolean usesCuda() {
        return requested == Device.CUDA || (requested == Device.AUTO && cudaAvailable);
    }

    public String deviceName() {
        return usesCuda() ? "cuda" : "cpu";
    }

    public OrtEnvironment env() {
        return env;
    }

    /** Opens a session; the caller owns (closes) it. */
    public OrtSession open(Path model) {
        return open(model, allowSpinning ? Map.of() : Map.of("session.intra_op.allow_spinning", "0"));
    }

    /**
     * Opens a session with extra ONNX Runtime session config entries (e.g. {@code session.intra_op.allow_spinning=0});
     * the caller owns (closes) it.
     */
    public OrtSession open(Path model, Map<String, String> configEntries) {
        return open(model.toString(), configEntries, opts -> env.createSession(model.toString(), opts));
    }

    /** Opens a session on a model held in memory (e.g. rewritten after loading); {@code name} is for messages. */
    public OrtSession open(byte[] model, String name, Map<String, String> configEntries) {
        return open(name, configEntries, opts -> env.createSession(model, opts));
    }

    private interface SessionFactory {
        OrtSession create(OrtSession.SessionOptions opts) throws OrtException;
    }

    private OrtSession open(String name, Map<String, String> configEntries, SessionFactory factory) {
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            for (Map.Entry<String, String> e : configEntries.entrySet()) opts.addConfigEntry(e.getKey(), e.getValue());
            if (intraOpThreads > 0) opts.setIntraOpNumThreads(intraOpThreads);
            if (usesCuda()) {
                try {
                    opts.addCUDA(0);
                } catch (OrtException e) {
                    if (requested == Device.CUDA) throw e;
                    log.warn("CUDA provider failed to start, running {} on CPU: {}", name, e.getMessage());
                }
            }
            return factory.create(opts);
        } catch (OrtException e) {
            throw new IllegalStateException("cannot load ONNX graph " + name + ": " + e.getMessage(), e);
        }
    }

}
