package ai.musicgenti.cli;

import ai.musicgenti.hub.ProgressListener;
import ai.musicgenti.pipeline.GenerateJob;
import ai.musicgenti.pipeline.JobEvent;
import ai.musicgenti.pipeline.JobListener;

/** Shows a job's events on stderr as the commands always have: stage lines, the evaluator's text, a bar per generation. */
class CliListener implements JobListener {
    private final ProgressBar downloads = new ProgressBar();
    private StepProgress generation;

    @Override
    public void on(JobEvent event) {
        if (event instanceof JobEvent.Stage s) {
            if (!s.detail().isEmpty()) System.err.println(s.detail());
        } else if (event instanceof JobEvent.Log l) {
            System.err.print(l.text());
            System.err.flush();
        } else if (event instanceof JobEvent.Progress p && p.stage().equals(GenerateJob.STAGE)) {
            if (p.done() <= 1 || generation == null) generation = new StepProgress(System.err, p.total());
            generation.update(p.done());
        }
    }

    @Override
    public ProgressListener downloads() {
        return downloads;
    }
}
