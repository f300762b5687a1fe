package org.jvmm.core.sys.linux.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * The real-time signal that kicks a vCPU thread out of {@code KVM_RUN}.
 *
 * <p>A signal arriving while a thread sits in {@code KVM_RUN} makes the ioctl return EINTR — but only if
 * the signal has a handler (an ignored signal is discarded and a default one kills the process) and the
 * handler is installed without {@code SA_RESTART} (or the kernel would restart the call). The handler
 * itself must do nothing, and it cannot be a Java upcall: upcalls must not run in signal context. So the
 * handler is a single {@code ret} instruction in a page of its own, mapped read+execute and never
 * writable once the instruction is in place: {@code 0xC3} on x86-64, {@code ret} = {@code 0xd65f03c0} on
 * arm64. glibc's {@code sigaction} supplies the return trampoline ({@code sa_restorer}) that the
 * {@code ret} returns to.
 *
 * <p>Which signal: the first real-time signal from glibc's {@code SIGRTMIN} upwards that has no handler
 * yet. HotSpot installs handlers only for standard signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGQUIT,
 * SIGUSR2 for suspend/resume, SIGHUP/SIGINT/SIGTERM for shutdown hooks, SIGPIPE, SIGXFSZ), the JDK's NIO
 * interrupts blocked I/O threads with SIGRTMAX - 2 (the other end of the range), and glibc keeps the
 * real-time signals below SIGRTMIN for its own threads; checking for an existing handler also keeps
 * us out of the way of any other native library in the process.
 */
public final class KickSignal {

    private static volatile int signal;

    private KickSignal() {}

    /** The signal number, installing the handler on first use. */
    public static int number() {
        int s = signal;
        if (s != 0) return s;
        synchronized (KickSignal.class) {
            if (signal == 0) signal = install();
            return signal;
        }
    }

    /** Sends the kick signal to {@code thread} (a {@code pthread_t}). */
    public static void send(long thread) {
        LinuxLibc.pthreadKill(thread, number());
    }

    private static int install() {
        MemorySegment page = LinuxLibc.mmap(4096, LinuxLibc.PROT_READ | LinuxLibc.PROT_WRITE,
                LinuxLibc.MAP_PRIVATE | LinuxLibc.MAP_ANONYMOUS, -1, 0);
        switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> page.set(ValueLayout.JAVA_BYTE, 0, (byte) 0xC3);
            case "aarch64", "arm64" -> page.set(ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN), 0, 0xd65f03c0);
            default -> throw new UnsupportedOperationException("no kick handler for " + System.getProperty("os.arch"));
        }
        LinuxLibc.mprotect(page, LinuxLibc.PROT_READ | LinuxLibc.PROT_EXEC);
        // The page is never unmapped: the handler must outlive every vCPU thread that might still get a signal.
        int first = LinuxLibc.sigrtmin();
        for (int candidate = first; candidate < first + 8; candidate++) {
            if (LinuxLibc.currentSignalHandler(candidate) == 0) { // SIG_DFL: nobody uses it
                LinuxLibc.sigaction(candidate, page, 0); // flags 0: no SA_RESTART, so KVM_RUN returns EINTR
                return candidate;
            }
        }
        throw new IllegalStateException("no free real-time signal in SIGRTMIN..SIGRTMIN+7 for the vCPU kick");
    }
}
