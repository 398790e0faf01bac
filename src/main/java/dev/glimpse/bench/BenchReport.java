package dev.glimpse.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The figures of one bench invocation: a plain-text table and the same as JSON ({@code machine}, {@code config},
 * {@code results: {key: {value, unit, label, note, runs}}}).
 */
final class BenchReport {

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final ObjectNode root = JSON.createObjectNode();
    private final ObjectNode results = JSON.createObjectNode();
    private final List<String[]> rows = new ArrayList<>();

    BenchReport() {
        root.putObject("machine");
        root.putObject("config");
        root.set("results", results);
    }

    ObjectNode machine() {
        return (ObjectNode) root.get("machine");
    }

    ObjectNode config() {
        return (ObjectNode) root.get("config");
    }

    ObjectNode results() {
        return results;
    }

    /** A figure: the median of {@code runs} (or a single value when runs is null). */
    ObjectNode add(String key, String label, double value, String unit, String note, double[] runs) {
        ObjectNode n = results.putObject(key).put("label", label).put("value", value).put("unit", unit);
        if (note != null) n.put("note", note);
        if (runs != null) {
            ArrayNode a = n.putArray("runs");
            for (double r : runs) a.add(r);
        }
        rows.add(new String[]{label, format(value), unit, note == null ? "" : note});
        return n;
    }

    /** A heading row in the table only. */
    void section(String title) {
        rows.add(new String[]{"-- " + title, "", "", ""});
    }

    double value(String key) {
        return results.has(key) ? results.get(key).get("value").asDouble() : Double.NaN;
    }

    static String format(double v) {
        if (Double.isNaN(v)) return "n/a";
        double a = Math.abs(v);
        if (a >= 1e6) return String.format("%.0f", v);
        if (a >= 100) return String.format("%.1f", v);
        if (a >= 1) return String.format("%.2f", v);
        return String.format("%.3f", v);
    }

    void print(PrintStream out) {
        ObjectNode m = machine();
        out.printf("glimpse bench: model %s (%s parameters), %s cores %s, Java %s, ONNX Runtime %s, %d runs per figure (medians)%n",
                config().path("model").asText(), m.path("parameters").asText(), m.path("cores").asText(),
                m.path("cpu").asText(), m.path("java").asText(), m.path("onnxruntime").asText(), config().path("runs").asInt());
        out.printf("load average before/after: %s / %s%n", m.path("loadavg_before").asText(), m.path("loadavg_after").asText("?"));
        int w0 = "measurement".length(), w1 = "value".length(), w2 = "unit".length();
        for (String[] r : rows) {
            if (r[0].startsWith("-- ")) continue;
            w0 = Math.max(w0, r[0].length());
            w1 = Math.max(w1, r[1].length());
            w2 = Math.max(w2, r[2].length());
        }
        String fmt = "%-" + w0 + "s  %" + w1 + "s  %-" + w2 + "s  %s%n";
        out.printf(fmt, "measurement", "value", "unit", "detail");
        for (String[] r : rows) {
            if (r[0].startsWith("-- ")) out.println(r[0]);
            else out.printf(fmt, r[0], r[1], r[2], r[3]);
        }
    }

    void writeJson(Path file) throws IOException {
        if (file.toAbsolutePath().getParent() != null) Files.createDirectories(file.toAbsolutePath().getParent());
        JSON.writeValue(file.toFile(), root);
    }
}
