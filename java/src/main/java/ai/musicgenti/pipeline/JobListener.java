package ai.musicgenti.pipeline;

import ai.musicgenti.hub.ProgressListener;

/** Hears what a job does, on the job's own thread: keep {@link #on} quick (copy the event out, redraw later). */
@FunctionalInterface
public interface JobListener {
    JobListener NONE = event -> { };

    void on(JobEvent event);

    /** Hears model downloads (byte counts per file), which happen before a job's own stages. */
    default ProgressListener downloads() {
        return ProgressListener.NONE;
    }
}
