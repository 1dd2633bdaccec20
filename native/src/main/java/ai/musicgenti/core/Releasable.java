package ai.musicgenti.core;

import org.bytedeco.javacpp.PointerScope;

import java.util.function.Supplier;

/**
 * A model part built on first use, freed on request and built again when next needed. Every native object made
 * while building it belongs to a PointerScope of its own: not to whatever scope the caller has open (which would free
 * the weights when the call that first needed them ends), and all freed at once by {@link #release}, the weights'
 * memory-mapped pages included.
 */
public final class Releasable<T> {
    private final Supplier<T> builder;
    private T value;
    private PointerScope scope;

    public Releasable(Supplier<T> builder) {
        this.builder = builder;
    }

    public synchronized T get() {
        if (value == null) {
            PointerScope own = new PointerScope();
            try {
                value = builder.get();
            } finally {
                // extend() makes this close() only take the scope off the thread's stack; the objects stay alive
                own.extend().close();
            }
            scope = own;
        }
        return value;
    }

    /** Frees the part's native objects now; the next {@link #get} builds it again. */
    public synchronized void release() {
        if (value == null) return;
        scope.close();
        scope = null;
        value = null;
        Safetensors.releaseUnusedMappings();
    }
}
