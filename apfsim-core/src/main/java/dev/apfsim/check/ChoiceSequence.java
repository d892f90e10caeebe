package dev.apfsim.check;

import java.util.Arrays;

/**
 * The decisions of one run at its choice points with more than one alternative, in the order they were taken: what
 * {@code --replay} and a reproducer's {@code check.choices} give back. Written run-length encoded, e.g.
 * {@code 0*41,2,0*7,1} (41 defaults, alternative 2, 7 defaults, alternative 1); past its end every decision is the
 * default, so trailing defaults are dropped.
 */
public record ChoiceSequence(int[] picks) {
    public static final ChoiceSequence NONE = new ChoiceSequence(new int[0]);

    public ChoiceSequence {
        int end = picks.length;
        while (end > 0 && picks[end - 1] == 0) {
            end--;
        }
        picks = Arrays.copyOf(picks, end);
    }

    public int length() {
        return picks.length;
    }

    public int at(int i) {
        return i < picks.length ? picks[i] : 0;
    }

    /** Decisions that are not the default. */
    public int deviations() {
        int n = 0;
        for (int p : picks) {
            n += p != 0 ? 1 : 0;
        }
        return n;
    }

    public ChoiceSequence with(int i, int pick) {
        int[] p = Arrays.copyOf(picks, Math.max(picks.length, i + 1));
        p[i] = pick;
        return new ChoiceSequence(p);
    }

    /** The sequence with decisions {@code [from, to)} left out: every later decision is taken that much earlier. */
    public ChoiceSequence without(int from, int to) {
        int[] p = new int[picks.length - (to - from)];
        System.arraycopy(picks, 0, p, 0, from);
        System.arraycopy(picks, to, p, from, picks.length - to);
        return new ChoiceSequence(p);
    }

    public ChoiceSequence truncate(int n) {
        return new ChoiceSequence(Arrays.copyOf(picks, Math.min(n, picks.length)));
    }

    /** Parses the run-length form; throws {@link IllegalArgumentException} with what is wrong. */
    public static ChoiceSequence parse(String text) {
        String t = text.strip();
        if (t.isEmpty()) {
            return NONE;
        }
        int[] out = new int[16];
        int n = 0;
        for (String part : t.split(",")) {
            String p = part.strip();
            int star = p.indexOf('*');
            int value;
            long count;
            try {
                value = Integer.parseInt(star < 0 ? p : p.substring(0, star));
                count = star < 0 ? 1 : Long.parseLong(p.substring(star + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("choice '" + p + "' is not N or N*COUNT");
            }
            if (value < 0 || count < 1 || n + count > 50_000_000) {
                throw new IllegalArgumentException("choice '" + p + "': needs N >= 0 and COUNT >= 1");
            }
            for (long k = 0; k < count; k++) {
                if (n == out.length) {
                    out = Arrays.copyOf(out, n * 2);
                }
                out[n++] = value;
            }
        }
        return new ChoiceSequence(Arrays.copyOf(out, n));
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < picks.length; ) {
            int j = i;
            while (j < picks.length && picks[j] == picks[i]) {
                j++;
            }
            if (!b.isEmpty()) {
                b.append(',');
            }
            b.append(picks[i]);
            if (j - i > 1) {
                b.append('*').append(j - i);
            }
            i = j;
        }
        return b.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChoiceSequence c && Arrays.equals(picks, c.picks);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(picks);
    }
}
