package ai.musicgenti.hub;

/** Hears about each file that is actually downloaded (files already in the cache make no calls). */
public interface ProgressListener {
    ProgressListener NONE = new ProgressListener() {
    };

    /** A download begins; {@code alreadyHave} bytes came from an earlier, interrupted download. */
    default void onStart(String file, long totalBytes, long alreadyHave) {
    }

    /** {@code bytesDone} counts from the start of the file, including what was already there. */
    default void onProgress(String file, long bytesDone) {
    }

    default void onDone(String file) {
    }
}
