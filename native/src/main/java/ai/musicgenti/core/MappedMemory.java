package ai.musicgenti.core;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.PointerConsumer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

import java.nio.MappedByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tensors whose storage is a memory-mapped file region. Java unmaps a {@link MappedByteBuffer} only once it is
 * unreachable, so each buffer is held here, by address, until libtorch frees the last tensor on it and calls back.
 */
final class MappedMemory {
    private static final Map<Long, MappedByteBuffer> LIVE = new ConcurrentHashMap<>();

    /** libtorch's deleter for every mapped storage: lets go of the buffer, which the garbage collector then unmaps. */
    private static final class Release extends PointerConsumer {
        @Override
        public void call(Pointer data) {
            LIVE.remove(data.address());
        }
    }

    private static final Release RELEASE = new Release();

    private MappedMemory() {
    }

    static Tensor tensor(Pointer data, MappedByteBuffer buffer, long[] shape, TensorOptions options) {
        LIVE.put(data.address(), buffer);
        return torch.from_blob(data, shape, RELEASE, options);
    }

    /** Mappings some tensor still uses (tests check that freed weights let go of theirs). */
    static int live() {
        return LIVE.size();
    }
}
