package ai.musicgenti.concepts;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.text.PromptTokenizer;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Prompts that name learned concepts. A concept {@code name} owns N pseudo-tokens {@code <name_0> … <name_{N-1}>};
 * a prompt writes {@code <name>} for all of them in order, or single {@code <name_i>}, among plain words and other
 * concepts. Tokenised as HF does with added tokens: the text is split at the placeholders, each plain segment is
 * tokenised on its own (without {@code </s>}), each pseudo-token takes one position, and {@code </s>} ends the
 * prompt. Training and generation both build prompts here, so they see the same sequences.
 */
public final class ConceptPrompts {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    /** Anything written like a placeholder, whether or not a concept owns it. */
    private static final Pattern ANY_PLACEHOLDER = Pattern.compile("<" + NAME.pattern() + ">");

    /**
     * A concept and where its pseudo-tokens live: rows {@code firstRow .. firstRow+tokens-1} of the learned table.
     */
    public record Concept(String name, int tokens, int firstRow) {
        public List<String> tokenStrings() {
            return IntStream.range(0, tokens).mapToObj(i -> "<" + name + "_" + i + ">").toList();
        }
    }

    /**
     * Ids [B,S], mask [B,S] (Long, right-padded) and rows [B,S] (Long): the learned row a position takes, -1 where
     * the position keeps its token embedding. The id at a learned position is the pad id; it is replaced anyway.
     */
    public record Batch(Tensor inputIds, Tensor attentionMask, Tensor rows) {
    }

    private final PromptTokenizer tokenizer;
    private final Map<String, Concept> concepts = new LinkedHashMap<>();
    private final Pattern placeholder;
    private final int totalTokens;

    /** @param tokenCounts each concept's pseudo-token count, in the order of the learned table's rows */
    public ConceptPrompts(PromptTokenizer tokenizer, Map<String, Integer> tokenCounts) {
        if (tokenCounts.isEmpty()) throw new BadInputException("no concepts: name at least one");
        this.tokenizer = tokenizer;
        int row = 0;
        for (Map.Entry<String, Integer> e : tokenCounts.entrySet()) {
            String name = e.getKey();
            requireName(name, "concept name '" + name + "'");
            if (e.getValue() < 1) throw new BadInputException("concept '" + name + "': needs at least one token, got " + e.getValue());
            concepts.put(name, new Concept(name, e.getValue(), row));
            row += e.getValue();
        }
        this.totalTokens = row;
        // longest names first, so that <8bit-x> is not read as <8bit> followed by text
        String names = concepts.keySet().stream().sorted(Comparator.comparingInt(String::length).reversed())
                .map(Pattern::quote).collect(Collectors.joining("|"));
        this.placeholder = Pattern.compile("<(" + names + ")(?:_(\\d+))?>");
    }

    public List<Concept> concepts() {
        return List.copyOf(concepts.values());
    }

    public Concept concept(String name) {
        Concept c = concepts.get(name);
        if (c == null) throw new BadInputException("unknown concept '" + name + "'; known: " + concepts.keySet());
        return c;
    }

    /** Refuses a concept name that a prompt could not write as {@code <name>}; {@code what} names it in the message. */
    public static void requireName(String name, String what) {
        if (!NAME.matcher(name).matches()) {
            throw new BadInputException(what + ": a concept's name is written <name> in prompts, so it may use only the letters A-Z and a-z, "
                    + "digits, '.', '_' and '-', starting with a letter or digit");
        }
    }

    /** Where a prompt template puts the concept. */
    public static final String SLOT = "%s";

    /** What a prompt writes for all of a concept's tokens, in order. */
    public static String placeholder(String concept) {
        return "<" + concept + ">";
    }

    /** A template with the concept's placeholder in its {@link #SLOT}. */
    public static String fill(String template, String concept) {
        return template.replace(SLOT, placeholder(concept));
    }

    /** Refuses a template without a {@link #SLOT}: every prompt made from it would lack the concept. */
    public static void requireSlot(String template, String what) {
        if (!template.contains(SLOT)) throw new BadInputException(what + " '" + template + "' has no " + SLOT + " for the concept; add one");
    }

    /** The placeholders ({@code <name>}, {@code <name_i>}) a text writes, in order, whether or not a concept owns them. */
    public static List<String> placeholders(String text) {
        return ANY_PLACEHOLDER.matcher(text).results().map(MatchResult::group).toList();
    }

    /**
     * Refuses a text that writes a placeholder no concept here owns: the tokenizer would read it as plain words, and
     * the music would silently lack the concept.
     *
     * @param what how the message names the text, e.g. {@code prompt 'calm <drums>'}
     */
    public void requireKnown(String text, String what) {
        for (String p : placeholders(text)) {
            if (!placeholder.matcher(p).matches()) {
                throw new BadInputException(what + ": " + p + " is not a loaded concept (loaded: " + String.join(", ", concepts.keySet())
                        + "; names are case-sensitive); write <name> or <name_i> of a loaded concept");
            }
        }
    }

    /** Rows of the learned table over all concepts. */
    public int totalTokens() {
        return totalTokens;
    }

    /** One tokenised prompt: ids ending in {@code </s>}, and the learned row of each position (-1 = none). */
    public record Encoded(long[] ids, long[] rows) {
    }

    /**
     * @param shuffle when not null, each {@code <name>} places its concept's tokens in a random order (the tokens
     *                then learn to mean the concept together rather than by position); null keeps them in order
     */
    public Encoded encode(String prompt, RandomGenerator shuffle) {
        requireKnown(prompt, "prompt '" + prompt + "'");
        List<Long> ids = new ArrayList<>(), rows = new ArrayList<>();
        Matcher m = placeholder.matcher(prompt);
        int at = 0;
        while (m.find()) {
            addPlain(prompt.substring(at, m.start()), ids, rows);
            Concept c = concepts.get(m.group(1));
            int[] order;
            if (m.group(2) != null) {
                int i = Integer.parseInt(m.group(2));
                if (i >= c.tokens()) {
                    throw new BadInputException("prompt '" + prompt + "': " + m.group() + " does not exist, concept '"
                            + c.name() + "' has tokens _0 to _" + (c.tokens() - 1));
                }
                order = new int[]{i};
            } else {
                order = IntStream.range(0, c.tokens()).toArray();
                if (shuffle != null) shuffleInPlace(order, shuffle);
            }
            for (int i : order) {
                ids.add(tokenizer.padId());
                rows.add((long) (c.firstRow() + i));
            }
            at = m.end();
        }
        addPlain(prompt.substring(at), ids, rows);
        ids.add(tokenizer.eosId());
        rows.add(-1L);
        return new Encoded(ids.stream().mapToLong(Long::longValue).toArray(), rows.stream().mapToLong(Long::longValue).toArray());
    }

    // Segments are stripped: a space before a placeholder would otherwise become a lone "▁" token.
    private void addPlain(String segment, List<Long> ids, List<Long> rows) {
        String text = segment.strip();
        if (text.isEmpty()) return;
        for (long id : tokenizer.encodePlain(text)) {
            ids.add(id);
            rows.add(-1L);
        }
    }

    private static void shuffleInPlace(int[] a, RandomGenerator random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** Prompts right-padded into one batch, as {@link PromptTokenizer#encode(List)} pads plain prompts. */
    public Batch batch(List<String> prompts, RandomGenerator shuffle) {
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts to encode");
        Encoded[] rows = prompts.stream().map(p -> encode(p, shuffle)).toArray(Encoded[]::new);
        int width = Arrays.stream(rows).mapToInt(r -> r.ids().length).max().orElseThrow();
        long[] ids = new long[rows.length * width], mask = new long[rows.length * width], learned = new long[rows.length * width];
        Arrays.fill(ids, tokenizer.padId());
        Arrays.fill(learned, -1L);
        for (int b = 0; b < rows.length; b++) {
            int n = rows[b].ids().length;
            System.arraycopy(rows[b].ids(), 0, ids, b * width, n);
            System.arraycopy(rows[b].rows(), 0, learned, b * width, n);
            Arrays.fill(mask, b * width, b * width + n, 1L);
        }
        return new Batch(Tensors.longs(ids, rows.length, width), Tensors.longs(mask, rows.length, width),
                Tensors.longs(learned, rows.length, width));
    }
}
