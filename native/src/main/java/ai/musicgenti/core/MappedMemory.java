package ai.musicgenti.core;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Storage;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Tensors whose storage is a memory-mapped file region. Each region keeps an owner tensor here; the tensors handed
 * out are views of it. {@link #releaseUnused} unmaps every region whose storage only the owner still uses. (A libtorch
 * deleter calling back into Java would do it at the exact moment, but such callbacks from the garbage collector's
 * deallocation crash the JVM, so regions are let go at points the library chooses: after loading a model, after
 * freeing a part of one.) Java itself would unmap a region only when its garbage collector finds the buffer, and
 * until then its pages count as the process's memory.
 */
final class MappedMemory {
    private record Region(Tensor owner, MappedByteBuffer buffer) {
    }

    private static final List<Region> LIVE = new ArrayList<>();
    private static final MethodHandle UNMAP = unmapper();

    private MappedMemory() {
    }

    static Tensor tensor(Pointer data, MappedByteBuffer buffer, long[] shape, TensorOptions options) {
        Tensor owner = torch.from_blob(data, shape, options);
        // an enclosing PointerScope must not free the owner: releaseUnused does
        owner.retainReference();
        synchronized (LIVE) {
            LIVE.add(new Region(owner, buffer));
        }
        return owner.view(shape);
    }

    /** Unmaps every region no tensor uses any more; returns how many. */
    static int releaseUnused() {
        int released = 0;
        synchronized (LIVE) {
            for (Iterator<Region> it = LIVE.iterator(); it.hasNext(); ) {
                Region r = it.next();
                long users;
                try (Storage storage = r.owner.storage()) {
                    users = storage.use_count();
                }
                if (users > 1) continue;
                r.owner.releaseReference();
                unmap(r.buffer);
                it.remove();
                released++;
            }
        }
        return released;
    }

    /** Regions still mapped (tests check that freed weights let go of theirs). */
    static int live() {
        synchronized (LIVE) {
            return LIVE.size();
        }
    }

    /**
     * Whether a live region holds this address. Tests ask it of their own tensor's data: {@link #live()} also counts
     * other tests' regions, which the garbage collector may free at any moment.
     */
    static boolean maps(long data) {
        synchronized (LIVE) {
            for (Region r : LIVE) {
                long start = r.owner.data_ptr().address();
                if (data >= start && data < start + r.owner.nbytes()) return true;
            }
        }
        return false;
    }

    private static void unmap(MappedByteBuffer buffer) {
        if (UNMAP == null) return;
        try {
            UNMAP.invoke(buffer);
        } catch (Throwable ignored) {
            // left to the garbage collector, as without the handle
        }
    }

    /** {@code sun.misc.Unsafe.invokeCleaner}, the JDK's way to unmap a buffer now; null where absent. */
    private static MethodHandle unmapper() {
        try {
            Class<?> unsafe = Class.forName("sun.misc.Unsafe");
            Field field = unsafe.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            return MethodHandles.lookup().findVirtual(unsafe, "invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class))
                    .bindTo(field.get(null));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
