package dev.glimpse.eval;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The demo-model tests' check: every task of a ShapesWorld eval report at or above its floor. */
final class EvalFloors {
    private EvalFloors() {}

    /** Prints the report, then fails naming each task under its floor and the first missed questions. */
    static void assertAbove(ShapesWorldEval.Report r, Map<String, Double> floors) {
        r.print(System.out);
        StringBuilder misses = new StringBuilder();
        for (Map.Entry<String, Double> f : floors.entrySet()) {
            double acc = r.accuracy(f.getKey());
            if (!(acc >= f.getValue())) misses.append(String.format("%s %.3f < %.3f; ", f.getKey(), acc, f.getValue()));
        }
        assertTrue(misses.isEmpty(), "below the floor: " + misses + " first misses: " + r.failures());
    }
}
