import java.lang.classfile.ClassFile;
import java.lang.constant.ClassDesc;
import static java.lang.constant.ConstantDescs.CD_long;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stress test of L1's emulated CPU, not of jvmm: threads keep defining small hidden classes, call
 * their one method until the JIT compiles it, and drop them, so JIT code is written, patched, run on
 * every CPU and its code-cache space freed and reused, all the time and in parallel. A JVM crashing
 * here (SIGSEGV in compiled code, as seen in the rig's jvmm runs) is the emulated host's fault.
 *
 * <p>Usage: {@code java JitChurn SECONDS THREADS}; prints one JITCHURN line with the classes made.
 */
public final class JitChurn {
    public static void main(String[] args) throws Exception {
        long seconds = Long.parseLong(args[0]);
        int threads = Integer.parseInt(args[1]);
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        AtomicLong classes = new AtomicLong();
        AtomicLong sink = new AtomicLong();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int seed = t;
            workers[t] = Thread.ofPlatform().start(() -> {
                long n = seed * 1_000_000L;
                try {
                    while (System.nanoTime() < end) {
                        MethodHandle m = define(n++);
                        long acc = 0;
                        for (int i = 0; i < 3_000; i++) acc += (long) m.invokeExact((long) i);
                        sink.addAndGet(acc);
                        classes.incrementAndGet();
                    }
                } catch (Throwable e) {
                    throw new AssertionError(e);
                }
            });
        }
        for (Thread w : workers) w.join();
        System.out.println("JITCHURN classes=" + classes.get() + " sink=" + sink.get());
    }

    /** A hidden class whose static {@code f(long)} returns {@code x * K + (x >>> 3)}, K distinct per class. */
    private static MethodHandle define(long k) throws ReflectiveOperationException {
        ClassDesc self = ClassDesc.of("Churn" + k);
        byte[] bytes = ClassFile.of().build(self, cb -> cb.withMethodBody("f",
                MethodTypeDesc.of(CD_long, CD_long), ClassFile.ACC_PUBLIC | ClassFile.ACC_STATIC, code -> code
                        .lload(0).ldc(k * 2 + 1).lmul()
                        .lload(0).iconst_3().lushr().ladd()
                        .lreturn()));
        MethodHandles.Lookup lookup = MethodHandles.lookup().defineHiddenClass(bytes, true);
        return lookup.findStatic(lookup.lookupClass(), "f", MethodType.methodType(long.class, long.class));
    }
}
