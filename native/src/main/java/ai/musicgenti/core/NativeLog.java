package ai.musicgenti.core;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch's own log (c10). At its default level it prints warnings meant for libtorch's developers on stderr, such
 * as that fbgemm's F16 products are deprecated (their first use under {@code --dtype f16w}) or, once per EnCodec
 * convolution on CPUs it does not support, that NNPACK could not start; neither says anything a user can act on.
 */
public final class NativeLog {
    private NativeLog() {
    }

    /** @param warnings true: libtorch's warnings and errors (its default); false: its errors only */
    public static synchronized void show(boolean warnings) {
        // c10 reads its level from its command-line flags; parsing them again replaces the previous value
        int level = warnings ? 1 : 2;
        try (PointerPointer<BytePointer> argv = new PointerPointer<>("musicgen-ti", "--caffe2_log_level=" + level);
             IntPointer argc = new IntPointer(1).put(2)) {
            torch.ParseCommandLineFlags(argc, argv);
        }
        torch.UpdateLoggingLevelsFromFlags();
    }
}
