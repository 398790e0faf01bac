package dev.glimpse.bench;

import java.util.Arrays;

/** Small statistics helpers for benchmark runs. */
final class Stats {
    private Stats() {}

    static double median(double[] xs) {
        if (xs.length == 0) return Double.NaN;
        double[] s = xs.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double min(double[] xs) {
        return Arrays.stream(xs).min().orElse(Double.NaN);
    }

    static double max(double[] xs) {
        return Arrays.stream(xs).max().orElse(Double.NaN);
    }

    /** Element-wise a[i] / b[i]. */
    static double[] ratios(double[] a, double[] b) {
        double[] r = new double[Math.min(a.length, b.length)];
        for (int i = 0; i < r.length; i++) r[i] = a[i] / b[i];
        return r;
    }
}
