package dev.glimpse.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class OrtRuntimeTest {

    static boolean cudaBuild() {
        return OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
    }

    @Test
    void unknownDeviceListsTheValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new OrtRuntime("gpu", 0));
        assertTrue(e.getMessage().contains("'gpu'"), e.getMessage());
        assertTrue(e.getMessage().contains("[cpu, cuda, auto]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new OrtRuntime("", 0));
    }

    @Test
    void cpu() {
        OrtRuntime rt = new OrtRuntime("cpu", 1);
        assertEquals("cpu", rt.deviceName());
        assertFalse(rt.usesCuda());
        assertSame(OrtEnvironment.getEnvironment(), rt.env());
        // Case and surrounding spaces are forgiven, as in a properties file.
        assertEquals("cpu", new OrtRuntime(" CPU ", 0).deviceName());
        assertEquals(OrtRuntime.Device.CPU, OrtRuntime.parseDevice("Cpu"));
    }

    @Test
    void cudaOnACpuOnlyBuildNamesTheCudaProfile() {
        assumeFalse(cudaBuild(), "this ONNX Runtime build has the CUDA provider");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new OrtRuntime("cuda", 0));
        assertTrue(e.getMessage().contains("-Pcuda"), e.getMessage());
        assertTrue(e.getMessage().contains("glimpse.runtime.device=cuda"), e.getMessage());
    }

    @Test
    void autoFallsBackToCpuWithoutCuda() {
        assumeFalse(cudaBuild(), "this ONNX Runtime build has the CUDA provider");
        OrtRuntime rt = new OrtRuntime("auto", 0);
        assertEquals("cpu", rt.deviceName());
        assertFalse(rt.usesCuda());
    }

    @Test
    void openFailureNamesTheGraph() {
        OrtRuntime rt = new OrtRuntime("cpu", 0);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> rt.open(java.nio.file.Path.of("target/does-not-exist.onnx")));
        assertTrue(e.getMessage().contains("does-not-exist.onnx"), e.getMessage());
    }
}
