package ai.musicgenti.sweep;

import ai.musicgenti.core.Seeds;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The trials of a sweep, each a function of the sweep id and its index alone, so any machine can run trial i without
 * the others. Grid: the combinations of every parameter's values, the last parameter varying fastest, cut at
 * {@code run_cap}. Random: {@code run_cap} draws, trial i from its own generator seeded by {@link Seeds}, parameters
 * drawn in file order.
 */
public final class ParameterSpace {
    private final SweepSpec spec;
    private final long seed;

    public ParameterSpace(SweepSpec spec, String sweepId) {
        this.spec = spec;
        this.seed = Seeds.of(sweepId);
    }

    public int trials() {
        if (spec.method() == SweepSpec.Method.RANDOM) return spec.runCap();
        long combinations = 1;
        for (SweepSpec.Parameter p : spec.parameters().values()) combinations = Math.min(Integer.MAX_VALUE, combinations * p.values().size());
        return spec.runCap() == null ? (int) combinations : (int) Math.min(combinations, spec.runCap());
    }

    /** Trial {@code index}'s value of every parameter, by canonical name, in file order. */
    public Map<String, Object> trial(int index) {
        if (index < 0 || index >= trials()) throw new IndexOutOfBoundsException("trial " + index + " of " + trials());
        Map<String, Object> values = new LinkedHashMap<>();
        if (spec.method() == SweepSpec.Method.GRID) {
            List<String> names = List.copyOf(spec.parameters().keySet());
            long rest = index;
            for (int k = names.size() - 1; k >= 0; k--) {
                List<Object> choices = spec.parameters().get(names.get(k)).values();
                values.put(names.get(k), choices.get((int) (rest % choices.size())));
                rest /= choices.size();
            }
            Map<String, Object> ordered = new LinkedHashMap<>();
            for (String n : names) ordered.put(n, values.get(n));
            return Collections.unmodifiableMap(ordered);
        }
        SplittableRandom random = new SplittableRandom(Seeds.derive(seed, index));
        for (Map.Entry<String, SweepSpec.Parameter> e : spec.parameters().entrySet()) {
            values.put(e.getKey(), draw(e.getValue(), TrainParameters.type(e.getKey()), random));
        }
        return Collections.unmodifiableMap(values);
    }

    private static Object draw(SweepSpec.Parameter p, TrainParameters.Type type, SplittableRandom random) {
        if (p.isFixedList()) {
            // one draw even for a single value: every parameter takes one draw, so each is drawn from the same place in
            // the trial's stream whatever the kinds of the parameters before it
            double u = random.nextDouble();
            if (p.probabilities() == null) return p.values().get(Math.min(p.values().size() - 1, (int) (u * p.values().size())));
            double cumulative = 0;
            for (int i = 0; i < p.values().size(); i++) {
                cumulative += p.probabilities().get(i);
                if (u < cumulative) return p.values().get(i);
            }
            return p.values().get(p.values().size() - 1);
        }
        double x = switch (p.distribution()) {
            case UNIFORM -> p.min() + random.nextDouble() * (p.max() - p.min());
            case LOG_UNIFORM_VALUES -> Math.exp(Math.log(p.min()) + random.nextDouble() * (Math.log(p.max()) - Math.log(p.min())));
            case INT_UNIFORM -> (double) random.nextLong((long) p.min(), (long) p.max() + 1);
            case Q_UNIFORM -> Math.round((p.min() + random.nextDouble() * (p.max() - p.min())) / p.q()) * p.q();
        };
        return type == TrainParameters.Type.INT ? (Object) Math.round(x) : (Object) x;
    }
}
