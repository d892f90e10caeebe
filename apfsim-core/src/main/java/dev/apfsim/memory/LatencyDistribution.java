package dev.apfsim.memory;

import java.util.List;
import java.util.SplittableRandom;

/** How long one page I/O takes on a backing device, in nanoseconds. */
public sealed interface LatencyDistribution {
    long sample(SplittableRandom r);

    /** Mean in nanoseconds, for reports. */
    double mean();

    record Constant(long ns) implements LatencyDistribution {
        public long sample(SplittableRandom r) {
            return ns;
        }

        public double mean() {
            return ns;
        }
    }

    record Exponential(long meanNs) implements LatencyDistribution {
        public long sample(SplittableRandom r) {
            return Math.max(1, Math.round(-meanNs * Math.log(1.0 - r.nextDouble())));
        }

        public double mean() {
            return meanNs;
        }
    }

    /** Log-normal fitted to a median and a 99th percentile: sigma = ln(p99 / median) / z(0.99). */
    record LogNormal(long medianNs, long p99Ns) implements LatencyDistribution {
        private static final double Z99 = 2.3263478740408408;

        public long sample(SplittableRandom r) {
            double sigma = sigma();
            double g = gaussian(r);
            return Math.max(1, Math.round(medianNs * Math.exp(sigma * g)));
        }

        double sigma() {
            return Math.log((double) p99Ns / medianNs) / Z99;
        }

        public double mean() {
            double s = sigma();
            return medianNs * Math.exp(s * s / 2);
        }

        private static double gaussian(SplittableRandom r) {
            // Box-Muller with one draw pair per sample, so the stream advances by a fixed amount
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
        }
    }

    /** Piecewise-linear inverse CDF through (latency, cumulative probability) points; the last must be 1.0. */
    record Empirical(List<Point> points) implements LatencyDistribution {
        public record Point(long ns, double cumulative) {
        }

        public long sample(SplittableRandom r) {
            double u = r.nextDouble();
            Point prev = new Point(0, 0);
            for (Point p : points) {
                if (u <= p.cumulative()) {
                    double span = p.cumulative() - prev.cumulative();
                    double f = span <= 0 ? 1 : (u - prev.cumulative()) / span;
                    return Math.max(1, Math.round(prev.ns() + f * (p.ns() - prev.ns())));
                }
                prev = p;
            }
            return points.getLast().ns();
        }

        public double mean() {
            double m = 0;
            Point prev = new Point(0, 0);
            for (Point p : points) {
                m += (p.cumulative() - prev.cumulative()) * (p.ns() + prev.ns()) / 2.0;
                prev = p;
            }
            return m;
        }
    }
}
