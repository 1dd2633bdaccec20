package ai.musicgenti.pipeline;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** A PrintStream for parts that write progress text (the evaluator): each write reaches the listener as a {@link JobEvent.Log}. */
final class LogStream extends OutputStream {
    private final JobListener listener;

    private LogStream(JobListener listener) {
        this.listener = listener;
    }

    static PrintStream to(JobListener listener) {
        return new PrintStream(new LogStream(listener), true, StandardCharsets.UTF_8);
    }

    @Override
    public void write(int b) {
        write(new byte[]{(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
        if (len > 0) listener.on(new JobEvent.Log(new String(b, off, len, StandardCharsets.UTF_8)));
    }
}
