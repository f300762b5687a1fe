import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The nested rig's smoke test for Java in L1 (run as a single-file source program by the rig's
 * {@code java} payload): proves that the JDK in the payload image runs, that FFM downcalls work,
 * and that L1's /dev/kvm answers, before any of jvmm is involved. Prints one RIG-KVM-PROBE line.
 *
 * <p>Ioctl numbers are from {@code <linux/kvm.h>}: KVMIO is 0xAE; GET_API_VERSION 0x00,
 * CREATE_VM 0x01, CREATE_VCPU 0x41, all _IO (no payload).
 */
public final class KvmProbe {
    public static void main(String[] args) throws Throwable {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        MethodHandle ioctl = linker.downcallHandle(libc.find("ioctl").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG),
                Linker.Option.firstVariadicArg(2));
        try (Arena arena = Arena.ofConfined()) {
            int kvm = (int) open.invokeExact(arena.allocateFrom("/dev/kvm"), 02 /* O_RDWR */ | 02000000 /* O_CLOEXEC */);
            int api = kvm < 0 ? -1 : (int) ioctl.invokeExact(kvm, 0xAE00L, 0L);
            int vm = kvm < 0 ? -1 : (int) ioctl.invokeExact(kvm, 0xAE01L, 0L);
            int vcpu = vm < 0 ? -1 : (int) ioctl.invokeExact(vm, 0xAE41L, 0L);
            System.out.println("RIG-KVM-PROBE kvm_fd=" + kvm + " api=" + api + " vm_fd=" + vm + " vcpu_fd=" + vcpu
                    + (vcpu >= 0 && api == 12 ? " ok" : " FAILED"));
            System.exit(vcpu >= 0 && api == 12 ? 0 : 1);
        }
    }
}
