package ai.musicgenti.cli;

import ai.musicgenti.pipeline.Cancellation;

import java.util.concurrent.CountDownLatch;

/**
 * Work that Ctrl-C stops by its {@link Cancellation} rather than by killing it: the JVM's shutdown waits until the
 * work has returned, so what it saves on the way out (a checkpoint, the children's checkpoints) is written whole.
 */
final class CtrlC {
    interface Work<T> {
        T run(Cancellation cancellation) throws Exception;
    }

    private CtrlC() {
    }

    static <T> T cancels(Cancellation cancellation, Work<T> work) throws Exception {
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            cancellation.cancel();
            try {
                finished.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return work.run(cancellation);
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it returns now that the work has
            }
        }
    }
}
