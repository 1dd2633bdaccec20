package ai.musicgenti.sweep;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * The training settings a sweep may vary, by their canonical names (train's flags in snake case: {@code batch_size}
 * is {@code --batch-size}), with the seed's W&B names as aliases so its sweep files run unchanged.
 */
public final class TrainParameters {
    /** What a parameter's values must be. */
    public enum Type { INT, DOUBLE, BOOL, STRING, STRING_LIST }

    private static final Map<String, Type> TYPES = new LinkedHashMap<>();
    private static final Map<String, String> SEED_NAMES = new LinkedHashMap<>();

    static {
        TYPES.put("concepts", Type.STRING_LIST);
        TYPES.put("tokens", Type.INT);
        TYPES.put("epochs", Type.INT);
        TYPES.put("batch_size", Type.INT);
        TYPES.put("examples_num", Type.INT);
        TYPES.put("music_len", Type.INT);
        TYPES.put("lr", Type.DOUBLE);
        TYPES.put("lr_step_epochs", Type.INT);
        TYPES.put("lr_gamma", Type.DOUBLE);
        TYPES.put("grad_amplify", Type.DOUBLE);
        TYPES.put("entropy_alpha", Type.DOUBLE);
        TYPES.put("ortho_alpha", Type.DOUBLE);
        TYPES.put("cr_alpha", Type.DOUBLE);
        TYPES.put("cr_margin", Type.DOUBLE);
        TYPES.put("shuffle_tokens", Type.BOOL);
        TYPES.put("init_word", Type.STRING);
        TYPES.put("seed", Type.INT);
        TYPES.put("eval_every", Type.INT);
        TYPES.put("eval_clips", Type.INT);
        TYPES.put("eval_duration", Type.DOUBLE);
        TYPES.put("eval_cfg", Type.DOUBLE);
        TYPES.put("patience", Type.INT);
        TYPES.put("clap", Type.STRING);
        TYPES.put("descriptions", Type.STRING);
        // the seed's names: examples_len was the length in seconds of the clips generated for evaluation, cfg_coef
        // their guidance, randomize_tokens the shuffled token order in training prompts
        SEED_NAMES.put("tokens_num", "tokens");
        SEED_NAMES.put("examples_len", "eval_duration");
        SEED_NAMES.put("learning_rate", "lr");
        SEED_NAMES.put("randomize_tokens", "shuffle_tokens");
        SEED_NAMES.put("cfg_coef", "eval_cfg");
    }

    private TrainParameters() {
    }

    /** The canonical name of a parameter as a sweep file writes it (ours, the seed's, or either in kebab case); null when unknown. */
    public static String canonical(String name) {
        String snake = name.replace('-', '_').toLowerCase(Locale.ROOT);
        String mapped = SEED_NAMES.getOrDefault(snake, snake);
        return TYPES.containsKey(mapped) ? mapped : null;
    }

    public static Type type(String canonical) {
        return TYPES.get(canonical);
    }

    /** Every name a sweep file may use, for the error that lists them. */
    public static String known() {
        TreeSet<String> all = new TreeSet<>(TYPES.keySet());
        all.addAll(SEED_NAMES.keySet());
        return String.join(", ", all);
    }

    /** train's flag for a canonical name. */
    public static String flag(String canonical) {
        return "--" + canonical.replace('_', '-');
    }
}
