package dev.glimpse.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where CPU went during a phase, from Linux /proc: CPU time per thread group of the server process (threads named alike,
 * digits stripped: "glimpse-image-N"; ONNX Runtime's pool threads are native and show as "java") and how busy the whole
 * machine was (other processes included). Everything is in clock ticks (USER_HZ, 100 per second on Linux).
 */
final class CpuAccounting {

    static final double TICKS_PER_SECOND = 100.0;

    /** Snapshot: per-thread-group ticks of one process, and machine [busy, total] ticks. */
    record Snapshot(Map<String, Long> threads, long machineBusy, long machineTotal, long nanos) {}

    private final Path task;

    /** @param procPid "/proc/PID" or "/proc/self" */
    CpuAccounting(String procPid) {
        this.task = Path.of(procPid, "task");
    }

    Snapshot snapshot() {
        Map<String, Long> m = new HashMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(task)) {
            for (Path t : ds) {
                String s;
                try {
                    s = Files.readString(t.resolve("stat"));
                } catch (IOException e) {
                    continue; // the thread ended
                }
                String comm = s.substring(s.indexOf('(') + 1, s.lastIndexOf(')')).replaceAll("\\d+$", "N");
                String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
                m.merge(comm, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum); // utime + stime
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: empty
        }
        long busy = 0, total = 0;
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            for (int i = 1; i < f.length && i <= 8; i++) {
                long v = Long.parseLong(f[i]);
                total += v;
                if (i != 4 && i != 5) busy += v; // idle, iowait
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return new Snapshot(m, busy, total, System.nanoTime());
    }

    /** Accumulated difference over several phases. */
    static final class Totals {
        final Map<String, Long> threads = new HashMap<>();
        long machineBusy, machineTotal, nanos;

        void add(Snapshot a, Snapshot b) {
            b.threads().forEach((k, v) -> threads.merge(k, v - a.threads().getOrDefault(k, 0L), Long::sum));
            machineBusy += b.machineBusy() - a.machineBusy();
            machineTotal += b.machineTotal() - a.machineTotal();
            nanos += b.nanos() - a.nanos();
        }

        /** CPU seconds of the process. */
        double processSeconds() {
            return threads.values().stream().mapToLong(Long::longValue).sum() / TICKS_PER_SECOND;
        }

        /** Server CPU as a percentage of one core. */
        double processPercent() {
            long t = threads.values().stream().mapToLong(Long::longValue).sum();
            return nanos == 0 ? Double.NaN : 100.0 * t / TICKS_PER_SECOND / (nanos / 1e9);
        }

        /** How busy all cores of the machine were, percent (every process). */
        double machinePercent() {
            return machineTotal == 0 ? Double.NaN : 100.0 * machineBusy / machineTotal;
        }

        /** Thread groups by CPU, percent of one core, largest first. */
        Map<String, Double> byThread() {
            Map<String, Double> out = new LinkedHashMap<>();
            threads.entrySet().stream().filter(e -> e.getValue() > 0).sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .forEach(e -> out.put(e.getKey(), Math.round(1000.0 * e.getValue() / TICKS_PER_SECOND / (nanos / 1e9)) / 10.0));
            return out;
        }
    }
}
