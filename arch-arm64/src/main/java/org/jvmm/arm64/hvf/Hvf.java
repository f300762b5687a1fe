package org.jvmm.arm64.hvf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.hypervisor.HypervisorException;
import org.jvmm.core.platform.Platforms;

/**
 * The FFM binding of the arm64 Hypervisor.framework C API: one downcall per {@code hv_*} function jvmm uses,
 * following the macOS SDK headers {@code <Hypervisor/hv_vm.h>}, {@code hv_vm_config.h},
 * {@code hv_vcpu.h}, {@code hv_vcpu_types.h}, {@code hv_gic.h}, {@code hv_gic_config.h},
 * {@code hv_gic_parameters.h} and {@code <arm64/hv/hv_kern_types.h>} (signatures, constants and layouts as
 * collected in reference/hvf-arm64.md §2–§3), plus the three libSystem functions the backend needs
 * ({@code os_release} from {@code <os/object.h>}, {@code mach_absolute_time} and {@code mach_timebase_info} from
 * {@code <mach/mach_time.h>}).
 *
 * <p>Loading: the framework at {@value #FRAMEWORK_PATH}, or the library named by the system property
 * {@value #LIBRARY_PROPERTY} — jvmm's tests point it at {@code hvfsim}, a simulated framework on Linux, which
 * also exports the libSystem functions; otherwise they come from the process's default lookup. Functions newer
 * than macOS 11 ({@code hv_vm_config_*} since 13.0, {@code hv_gic_*} since 15.0) are looked up lazily, so an
 * older macOS fails with a sentence naming the version it needs instead of a link error.
 *
 * <p>Argument shapes: {@code hv_return_t} is int32; {@code hv_vcpu_t}, {@code hv_ipa_t}, sizes and flags are 64-bit;
 * {@code hv_reg_t} is uint32; the uint16 enums ({@code hv_sys_reg_t}) are bound as int and passed zero-extended
 * (reference §1: binding them as Java short could sign-extend values ≥ 0x8000). Every failing call becomes an
 * exception: the four codes a user can act on ({@code HV_DENIED}, {@code HV_UNSUPPORTED}, {@code HV_BUSY},
 * {@code HV_NO_RESOURCES}) a {@link ConfigurationException} saying what to do, the rest a
 * {@link HypervisorException} naming the call and the code. Owning-thread rules are the caller's (hvf-arm64.md §4.8).
 */
public final class Hvf {

    /** The system property naming a library to load instead of the framework (the test simulator). */
    public static final String LIBRARY_PROPERTY = "jvmm.hvf.library";
    /** Where macOS keeps the framework's binary. */
    public static final String FRAMEWORK_PATH = "/System/Library/Frameworks/Hypervisor.framework/Hypervisor";

    // hv_return_t (hv_kern_types.h): err_common_hypervisor 0xfae94000 | code.
    public static final int HV_SUCCESS = 0;
    public static final int HV_ERROR = 0xfae94001;
    public static final int HV_BUSY = 0xfae94002;
    public static final int HV_BAD_ARGUMENT = 0xfae94003;
    public static final int HV_ILLEGAL_GUEST_STATE = 0xfae94004;
    public static final int HV_NO_RESOURCES = 0xfae94005;
    public static final int HV_NO_DEVICE = 0xfae94006;
    public static final int HV_DENIED = 0xfae94007;
    public static final int HV_EXISTS = 0xfae94008;
    public static final int HV_UNSUPPORTED = 0xfae9400f;

    // hv_memory_flags_t
    public static final long HV_MEMORY_READ = 1, HV_MEMORY_WRITE = 2, HV_MEMORY_EXEC = 4;

    // hv_exit_reason_t and the hv_vcpu_exit_t layout: reason u32 @0, syndrome @8, virtual_address @16, physical_address @24.
    public static final int HV_EXIT_REASON_CANCELED = 0;
    public static final int HV_EXIT_REASON_EXCEPTION = 1;
    public static final int HV_EXIT_REASON_VTIMER_ACTIVATED = 2;
    public static final int HV_EXIT_REASON_UNKNOWN = 3;
    public static final long EXIT_SIZE = 32;
    public static final long EXIT_REASON = 0, EXIT_SYNDROME = 8, EXIT_VIRTUAL_ADDRESS = 16, EXIT_PHYSICAL_ADDRESS = 24;

    // hv_reg_t
    public static final int HV_REG_X0 = 0;
    public static final int HV_REG_PC = 31;
    public static final int HV_REG_CPSR = 34;

    // hv_sys_reg_t: op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2
    public static final int HV_SYS_REG_MPIDR_EL1 = 0xc005;
    public static final int HV_SYS_REG_ID_AA64PFR0_EL1 = 0xc020;
    public static final int HV_SYS_REG_SP_EL1 = 0xe208;
    public static final int HV_SYS_REG_CNTV_CTL_EL0 = 0xdf19;
    public static final int HV_SYS_REG_CNTV_CVAL_EL0 = 0xdf1a;

    // hv_gic_redistributor_reg_t: SGI-frame GICR_ISPENDR0
    public static final int HV_GIC_REG_GICR_ISPENDR0 = 0x10200;

    private static final Linker LINKER = Linker.nativeLinker();
    private static volatile Hvf instance;

    private final String source;
    private final SymbolLookup framework;
    private final SymbolLookup system;

    private final MethodHandle vmCreate, vmDestroy, vmMap, vmUnmap;
    private final MethodHandle vcpuCreate, vcpuDestroy, vcpuRun, vcpusExit;
    private final MethodHandle vcpuGetReg, vcpuSetReg, vcpuGetSysReg, vcpuSetSysReg;
    private final MethodHandle vcpuSetVtimerMask, vcpuSetVtimerOffset;
    private final MethodHandle machAbsoluteTime;
    private final long timebaseNumer, timebaseDenom;

    private Hvf(String source, SymbolLookup framework) {
        this.source = source;
        this.framework = framework;
        this.system = LINKER.defaultLookup();
        vmCreate = required("hv_vm_create", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vmDestroy = required("hv_vm_destroy", FunctionDescriptor.of(JAVA_INT));
        vmMap = required("hv_vm_map", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        vmUnmap = required("hv_vm_unmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
        vcpuCreate = required("hv_vcpu_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        vcpuDestroy = required("hv_vcpu_destroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        vcpuRun = required("hv_vcpu_run", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        vcpusExit = required("hv_vcpus_exit", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        vcpuGetReg = required("hv_vcpu_get_reg", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS));
        vcpuSetReg = required("hv_vcpu_set_reg", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG));
        vcpuGetSysReg = required("hv_vcpu_get_sys_reg", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS));
        vcpuSetSysReg = required("hv_vcpu_set_sys_reg", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG));
        vcpuSetVtimerMask = required("hv_vcpu_set_vtimer_mask", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BOOLEAN));
        vcpuSetVtimerOffset = required("hv_vcpu_set_vtimer_offset", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
        machAbsoluteTime = required("mach_absolute_time", FunctionDescriptor.of(JAVA_LONG));
        MethodHandle timebase = required("mach_timebase_info", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(8, 4);
            int r = (int) timebase.invokeExact(info);
            long numer = Integer.toUnsignedLong(info.get(JAVA_INT, 0));
            long denom = Integer.toUnsignedLong(info.get(JAVA_INT, 4));
            if (r != 0 || numer == 0 || denom == 0) throw new HypervisorException("mach_timebase_info failed (" + r + ")");
            timebaseNumer = numer;
            timebaseDenom = denom;
        } catch (HypervisorException e) {
            throw e;
        } catch (Throwable t) {
            throw new HypervisorException("mach_timebase_info failed", t);
        }
    }

    /**
     * Whether this process would use the arm64 Hypervisor.framework: on macOS on Apple silicon, or wherever
     * {@value #LIBRARY_PROPERTY} names a library. (An Intel Mac's framework has the x86 API under the same names.)
     */
    public static boolean selected() {
        return System.getProperty(LIBRARY_PROPERTY) != null
                || (System.getProperty("os.name", "").startsWith("Mac") && Platforms.hostArch().equals("arm64"));
    }

    /**
     * The binding, loading the framework (or the library {@value #LIBRARY_PROPERTY} names) on first use; the
     * choice holds for the life of the process, since a loaded library stays loaded.
     *
     * @throws ConfigurationException if the library is missing
     */
    public static Hvf get() {
        Hvf h = instance;
        if (h != null) return h;
        synchronized (Hvf.class) {
            if (instance == null) {
                String simulator = System.getProperty(LIBRARY_PROPERTY);
                if (simulator != null) {
                    if (!Files.exists(Path.of(simulator))) {
                        throw new ConfigurationException("The library " + simulator + " named by -D" + LIBRARY_PROPERTY
                                + " does not exist; build it or drop the property.");
                    }
                    instance = new Hvf(simulator, SymbolLookup.libraryLookup(Path.of(simulator), Arena.global()));
                } else {
                    // Since macOS 11 system frameworks live in the dyld shared cache, not on disk: dlopen the name
                    // (the String overload) instead of checking or resolving a file.
                    SymbolLookup framework;
                    try {
                        framework = SymbolLookup.libraryLookup(FRAMEWORK_PATH, Arena.global());
                    } catch (IllegalArgumentException e) {
                        throw new ConfigurationException("Hypervisor.framework cannot be loaded from " + FRAMEWORK_PATH
                                + "; run jvmm on macOS 15 or later on Apple silicon.", e);
                    }
                    instance = new Hvf(FRAMEWORK_PATH, framework);
                }
            }
            return instance;
        }
    }

    /** Where the functions come from: the framework's path or the simulator's. */
    public String source() { return source; }

    /** Whether the functions are the real framework's (false: a simulation named by {@value #LIBRARY_PROPERTY}). */
    public boolean isRealFramework() { return source.equals(FRAMEWORK_PATH); }

    // ---- hv_vm.h, hv_vm_config.h ---------------------------------------------------------------------

    /** {@code hv_vm_config_create()} (13.0+), or {@link MemorySegment#NULL} on older macOS (then the defaults apply). */
    public MemorySegment vmConfigCreate() {
        Optional<MethodHandle> h = optional("hv_vm_config_create", FunctionDescriptor.of(ADDRESS));
        if (h.isEmpty()) return MemorySegment.NULL;
        try {
            return (MemorySegment) h.get().invokeExact();
        } catch (Throwable t) {
            throw rethrow("hv_vm_config_create", t);
        }
    }

    /** {@code hv_vm_config_get_max_ipa_size(&bits)} (13.0+). */
    public int vmConfigMaxIpaSize() {
        MethodHandle h = since("hv_vm_config_get_max_ipa_size", "13", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("hv_vm_config_get_max_ipa_size", (int) h.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow("hv_vm_config_get_max_ipa_size", t);
        }
    }

    /** {@code hv_vm_config_set_ipa_size(config, bits)} (13.0+). */
    public void vmConfigSetIpaSize(MemorySegment config, int bits) {
        MethodHandle h = since("hv_vm_config_set_ipa_size", "13", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        try {
            check("hv_vm_config_set_ipa_size", (int) h.invokeExact(config, bits));
        } catch (Throwable t) {
            throw rethrow("hv_vm_config_set_ipa_size", t);
        }
    }

    /** {@code hv_vm_create(config)}; config may be {@link MemorySegment#NULL}. */
    public void vmCreate(MemorySegment config) {
        try {
            check("hv_vm_create", (int) vmCreate.invokeExact(config));
        } catch (Throwable t) {
            throw rethrow("hv_vm_create", t);
        }
    }

    /** {@code hv_vm_destroy()}: all vCPUs must be destroyed first. */
    public void vmDestroy() {
        try {
            check("hv_vm_destroy", (int) vmDestroy.invokeExact());
        } catch (Throwable t) {
            throw rethrow("hv_vm_destroy", t);
        }
    }

    /** {@code hv_vm_map(addr, ipa, size, flags)}: host address, IPA and size 16 KiB-page aligned. */
    public void vmMap(MemorySegment host, long ipa, long size, long flags) {
        try {
            check("hv_vm_map", (int) vmMap.invokeExact(host, ipa, size, flags));
        } catch (Throwable t) {
            throw rethrow("hv_vm_map", t);
        }
    }

    /** {@code hv_vm_unmap(ipa, size)}: exactly a range that was mapped. */
    public void vmUnmap(long ipa, long size) {
        try {
            check("hv_vm_unmap", (int) vmUnmap.invokeExact(ipa, size));
        } catch (Throwable t) {
            throw rethrow("hv_vm_unmap", t);
        }
    }

    /** {@code os_release(object)} for the OS objects ({@code hv_vm_config_t}, {@code hv_gic_config_t}). */
    public void osRelease(MemorySegment object) {
        if (object.equals(MemorySegment.NULL)) return;
        MethodHandle h = required("os_release", FunctionDescriptor.ofVoid(ADDRESS));
        try {
            h.invokeExact(object);
        } catch (Throwable t) {
            throw rethrow("os_release", t);
        }
    }

    // ---- hv_vcpu.h ------------------------------------------------------------------------------------

    /**
     * {@code hv_vcpu_create(&vcpu, &exit, NULL)} on the calling thread, which then owns the vCPU. Stores the
     * framework-owned {@code hv_vcpu_exit_t *} into {@code exitOut} (an address-sized segment) and returns the id.
     */
    public long vcpuCreate(MemorySegment idOut, MemorySegment exitOut) {
        try {
            check("hv_vcpu_create", (int) vcpuCreate.invokeExact(idOut, exitOut, MemorySegment.NULL));
            return idOut.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow("hv_vcpu_create", t);
        }
    }

    /** {@code hv_vcpu_destroy(vcpu)}, on the owning thread. */
    public void vcpuDestroy(long vcpu) {
        try {
            check("hv_vcpu_destroy", (int) vcpuDestroy.invokeExact(vcpu));
        } catch (Throwable t) {
            throw rethrow("hv_vcpu_destroy", t);
        }
    }

    /**
     * {@code hv_vcpu_run(vcpu)}: blocks until the next exit, which the framework writes to the exit struct.
     * Returns the raw {@code hv_return_t}, so the caller can report {@link #HV_ILLEGAL_GUEST_STATE} as a failed entry.
     */
    public int vcpuRun(long vcpu) {
        try {
            return (int) vcpuRun.invokeExact(vcpu);
        } catch (Throwable t) {
            throw rethrow("hv_vcpu_run", t);
        }
    }

    /** {@code hv_vcpus_exit(vcpus, 1)} with {@code vcpuArray} holding one id; any thread. Returns the raw code. */
    public int vcpusExit(MemorySegment vcpuArray) {
        try {
            return (int) vcpusExit.invokeExact(vcpuArray, 1);
        } catch (Throwable t) {
            throw rethrow("hv_vcpus_exit", t);
        }
    }

    /** {@code hv_vcpu_get_reg(vcpu, reg, &value)}; {@code scratch} is 8 bytes of the caller's. */
    public long vcpuGetReg(long vcpu, int reg, MemorySegment scratch) {
        try {
            check("hv_vcpu_get_reg", (int) vcpuGetReg.invokeExact(vcpu, reg, scratch));
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow("hv_vcpu_get_reg", t);
        }
    }

    /** {@code hv_vcpu_set_reg(vcpu, reg, value)}. */
    public void vcpuSetReg(long vcpu, int reg, long value) {
        try {
            check("hv_vcpu_set_reg", (int) vcpuSetReg.invokeExact(vcpu, reg, value));
        } catch (Throwable t) {
            throw rethrow("hv_vcpu_set_reg", t);
        }
    }

    /** {@code hv_vcpu_get_sys_reg(vcpu, reg, &value)}; {@code reg} is an {@code hv_sys_reg_t} (uint16). */
    public long vcpuGetSysReg(long vcpu, int reg, MemorySegment scratch) {
        try {
            check("hv_vcpu_get_sys_reg", (int) vcpuGetSysReg.invokeExact(vcpu, reg & 0xffff, scratch));
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow("hv_vcpu_get_sys_reg", t);
        }
    }

    /** {@code hv_vcpu_set_sys_reg(vcpu, reg, value)}. */
    public void vcpuSetSysReg(long vcpu, int reg, long value) {
        try {
            check("hv_vcpu_set_sys_reg", (int) vcpuSetSysReg.invokeExact(vcpu, reg & 0xffff, value));
        } catch (Throwable t) {
            throw rethrow("hv_vcpu_set_sys_reg", t);
        }
    }

    /** {@code hv_vcpu_set_vtimer_mask(vcpu, masked)}. */
    public void vcpuSetVtimerMask(long vcpu, boolean masked) {
        try {
            check("hv_vcpu_set_vtimer_mask", (int) vcpuSetVtimerMask.invokeExact(vcpu, masked));
        } catch (Throwable t) {
            throw rethrow("hv_vcpu_set_vtimer_mask", t);
        }
    }

    /** {@code hv_vcpu_set_vtimer_offset(vcpu, offset)}: CNTVCT_EL0 = mach_absolute_time() - offset. */
    public void vcpuSetVtimerOffset(long vcpu, long offset) {
        try {
            check("hv_vcpu_set_vtimer_offset", (int) vcpuSetVtimerOffset.invokeExact(vcpu, offset));
        } catch (Throwable t) {
            throw rethrow("hv_vcpu_set_vtimer_offset", t);
        }
    }

    // ---- hv_gic*.h (macOS 15.0+) ---------------------------------------------------------------------------

    /** The four in-kernel GIC placement parameters: distributor size and alignment, redistributor region size and alignment. */
    public long[] gicParameters() {
        String[] names = {"hv_gic_get_distributor_size", "hv_gic_get_distributor_base_alignment",
                "hv_gic_get_redistributor_region_size", "hv_gic_get_redistributor_base_alignment"};
        long[] values = new long[names.length];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            for (int i = 0; i < names.length; i++) {
                MethodHandle h = since(names[i], "15", FunctionDescriptor.of(JAVA_INT, ADDRESS));
                check(names[i], (int) h.invokeExact(out));
                values[i] = out.get(JAVA_LONG, 0);
            }
        } catch (Throwable t) {
            throw rethrow("hv_gic_get_*", t);
        }
        return values;
    }

    /** {@code hv_gic_get_spi_interrupt_range(&base, &count)}: {base, count}. */
    public int[] gicSpiRange() {
        MethodHandle h = since("hv_gic_get_spi_interrupt_range", "15", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment base = a.allocate(JAVA_INT), count = a.allocate(JAVA_INT);
            check("hv_gic_get_spi_interrupt_range", (int) h.invokeExact(base, count));
            return new int[] {base.get(JAVA_INT, 0), count.get(JAVA_INT, 0)};
        } catch (Throwable t) {
            throw rethrow("hv_gic_get_spi_interrupt_range", t);
        }
    }

    /**
     * Creates the in-kernel GICv3 with its distributor and redistributor region at the given IPAs:
     * {@code hv_gic_config_create}, {@code _set_distributor_base}, {@code _set_redistributor_base},
     * {@code hv_gic_create}, {@code os_release}. After {@code hv_vm_create}, before any vCPU.
     */
    public void gicCreate(long distributorBase, long redistributorBase) {
        MethodHandle create = since("hv_gic_config_create", "15", FunctionDescriptor.of(ADDRESS));
        MethodHandle setDist = since("hv_gic_config_set_distributor_base", "15", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        MethodHandle setRedist = since("hv_gic_config_set_redistributor_base", "15", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        MethodHandle gic = since("hv_gic_create", "15", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MemorySegment config = MemorySegment.NULL;
        try {
            config = (MemorySegment) create.invokeExact();
            if (config.equals(MemorySegment.NULL)) throw new HypervisorException("hv_gic_config_create returned NULL");
            check("hv_gic_config_set_distributor_base", (int) setDist.invokeExact(config, distributorBase));
            check("hv_gic_config_set_redistributor_base", (int) setRedist.invokeExact(config, redistributorBase));
            check("hv_gic_create", (int) gic.invokeExact(config));
        } catch (Throwable t) {
            throw rethrow("hv_gic_create", t);
        } finally {
            osRelease(config);
        }
    }

    /** {@code hv_gic_set_spi(intid, level)}: {@code intid} is the GIC INTID (32 + SPI number); any thread. */
    public void gicSetSpi(int intid, boolean level) {
        MethodHandle h = since("hv_gic_set_spi", "15", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_BOOLEAN));
        try {
            check("hv_gic_set_spi", (int) h.invokeExact(intid, level));
        } catch (Throwable t) {
            throw rethrow("hv_gic_set_spi", t);
        }
    }

    /** {@code hv_gic_set_redistributor_reg(vcpu, reg, value)} on the vCPU's owning thread. */
    public void gicSetRedistributorReg(long vcpu, int reg, long value) {
        MethodHandle h = since("hv_gic_set_redistributor_reg", "15", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG));
        try {
            check("hv_gic_set_redistributor_reg", (int) h.invokeExact(vcpu, reg, value));
        } catch (Throwable t) {
            throw rethrow("hv_gic_set_redistributor_reg", t);
        }
    }

    // ---- mach_time.h -----------------------------------------------------------------------------------

    /** {@code mach_absolute_time()}: the tick count HVF's virtual counter derives from. */
    public long machAbsoluteTime() {
        try {
            return (long) machAbsoluteTime.invokeExact();
        } catch (Throwable t) {
            throw rethrow("mach_absolute_time", t);
        }
    }

    /** {@code ticks} of {@link #machAbsoluteTime()} in nanoseconds ({@code mach_timebase_info}), saturating. */
    public long ticksToNanos(long ticks) {
        if (ticks <= 0) return 0;
        if (ticks > Long.MAX_VALUE / timebaseNumer) return Long.MAX_VALUE;
        return ticks * timebaseNumer / timebaseDenom;
    }

    // ---- errors and lookup ----------------------------------------------------------------------------

    /**
     * Turns a non-zero {@code hv_return_t} into an exception: a {@link ConfigurationException} for what the user
     * can fix, a {@link HypervisorException} otherwise.
     */
    public static void check(String call, int ret) {
        if (ret == HV_SUCCESS) return;
        switch (ret) {
            case HV_DENIED -> throw new ConfigurationException("Hypervisor.framework denied " + call + " (HV_DENIED): the java"
                    + " binary lacks the com.apple.security.hypervisor entitlement, so run bin/sign-macos-runtime (or codesign"
                    + " --entitlements with that key plus the JDK's JIT entitlements) and start jvmm with the signed runtime.");
            case HV_UNSUPPORTED -> throw new ConfigurationException("Hypervisor.framework reports " + call + " as unsupported"
                    + " (HV_UNSUPPORTED): run jvmm on Apple silicon with macOS 15 or later, outside a VM without nested"
                    + " virtualization, with a java binary signed by bin/sign-macos-runtime (re-signing drops the entitlement).");
            case HV_BUSY -> throw new ConfigurationException("Hypervisor.framework is busy in " + call + " (HV_BUSY): a process"
                    + " can hold one VM at a time, so close the other VM of this process or start another jvmm process.");
            case HV_NO_RESOURCES -> throw new ConfigurationException("Hypervisor.framework ran out of resources in " + call
                    + " (HV_NO_RESOURCES): stop other virtual machines on this Mac or give this one fewer vCPUs.");
            default -> throw new HypervisorException(call + " failed: " + name(ret));
        }
    }

    /** The name of an {@code hv_return_t}, for messages. */
    public static String name(int ret) {
        String n = switch (ret) {
            case HV_SUCCESS -> "HV_SUCCESS";
            case HV_ERROR -> "HV_ERROR";
            case HV_BUSY -> "HV_BUSY";
            case HV_BAD_ARGUMENT -> "HV_BAD_ARGUMENT";
            case HV_ILLEGAL_GUEST_STATE -> "HV_ILLEGAL_GUEST_STATE";
            case HV_NO_RESOURCES -> "HV_NO_RESOURCES";
            case HV_NO_DEVICE -> "HV_NO_DEVICE";
            case HV_DENIED -> "HV_DENIED";
            case HV_EXISTS -> "HV_EXISTS";
            case HV_UNSUPPORTED -> "HV_UNSUPPORTED";
            default -> "hv_return_t";
        };
        return n + " (0x" + Integer.toHexString(ret) + ")";
    }

    private static RuntimeException rethrow(String call, Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new HypervisorException(call + " failed: " + t, t);
    }

    // Lazily linked handles: hv_gic_set_spi runs for every device interrupt, so each is linked once.
    private final ConcurrentHashMap<String, Optional<MethodHandle>> linked = new ConcurrentHashMap<>();

    private Optional<MethodHandle> optional(String name, FunctionDescriptor descriptor) {
        return linked.computeIfAbsent(name, n -> framework.find(n).or(() -> system.find(n))
                .map(a -> LINKER.downcallHandle(a, descriptor)));
    }

    private MethodHandle required(String name, FunctionDescriptor descriptor) {
        return optional(name, descriptor).orElseThrow(() -> new ConfigurationException(source + " has no " + name
                + "; run jvmm on macOS 15 or later on Apple silicon."));
    }

    private MethodHandle since(String name, String macos, FunctionDescriptor descriptor) {
        return optional(name, descriptor).orElseThrow(() -> new ConfigurationException("jvmm needs " + name
                + " from Hypervisor.framework on macOS " + macos + " or later, which " + source + " lacks; update macOS."));
    }
}
