package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.jvmm.sandbox.jail.BpfProgram.Instruction;

/**
 * The BPF compiler against a reference: for random policies, architectures and modes, and random system
 * calls (numbers the policy names, other known numbers, arbitrary 32-bit values including x32 ones,
 * foreign architectures, arguments that do and do not match a condition), a classic-BPF interpreter
 * written here from {@code <linux/filter.h>} running the compiled program returns what the rules say.
 */
class SeccompCompilerProperties {

    // <linux/seccomp.h>, written out here rather than taken from the code under test.
    private static final int KILL_PROCESS = 0x8000_0000, ERRNO = 0x0005_0000, USER_NOTIF = 0x7FC0_0000, ALLOW = 0x7FFF_0000;
    private static final int AUDIT_ARCH_I386 = 0x4000_0003;

    private static final List<String> NAMES;

    static {
        Set<String> all = new TreeSet<>(SyscallTable.all(SeccompArch.X86_64).keySet());
        all.addAll(SyscallTable.all(SeccompArch.AARCH64).keySet());
        NAMES = List.copyOf(all);
    }

    @Provide
    Arbitrary<SeccompPolicy> policies() {
        Arbitrary<SeccompRule.Action> allowIf = Combinators.combine(
                Arbitraries.integers().between(0, 5),
                Arbitraries.longs().between(0, 0xFFFF_FFFFL),
                Arbitraries.longs(),
                Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(0)), Tuple.of(1, Arbitraries.integers().between(1, 4095))))
                .as((arg, mask, value, otherwise) -> new SeccompRule.AllowIf(arg, mask, value & mask, otherwise));
        Arbitrary<SeccompRule.Action> action = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.just(new SeccompRule.Allow())),
                Tuple.of(2, Arbitraries.integers().between(1, 4095).map(SeccompRule.Errno::new)),
                Tuple.of(2, allowIf));
        return Arbitraries.of(NAMES).set().ofMaxSize(120).flatMap(names -> action.list().ofSize(names.size()).map(actions -> {
            List<SeccompRule> rules = new ArrayList<>();
            int i = 0;
            for (String name : names) rules.add(new SeccompRule(name, actions.get(i++)));
            return new SeccompPolicy("random", rules);
        }));
    }

    @Property(tries = 300)
    void theCompiledProgramDecidesAsTheRulesSay(@ForAll("policies") SeccompPolicy policy, @ForAll SeccompArch arch,
                                                @ForAll SeccompMode mode, @ForAll long seed) {
        BpfProgram program = SeccompCompiler.compile(policy, arch, mode);
        Random r = new Random(seed);
        for (int sample = 0; sample < 200; sample++) {
            int auditArch = switch (r.nextInt(10)) {
                case 0 -> AUDIT_ARCH_I386;
                case 1 -> r.nextInt();
                case 2 -> (arch == SeccompArch.X86_64 ? SeccompArch.AARCH64 : SeccompArch.X86_64).auditArch();
                default -> arch.auditArch();
            };
            int nr;
            SeccompRule target = policy.rules().isEmpty() ? null : policy.rules().get(r.nextInt(policy.rules().size()));
            switch (r.nextInt(4)) {
                case 0, 1 -> nr = target != null && SyscallTable.all(arch).containsKey(target.syscall())
                        ? SyscallTable.all(arch).get(target.syscall()) : r.nextInt(500);
                case 2 -> nr = r.nextInt(500) | (r.nextBoolean() ? 0x4000_0000 : 0);   // x32 numbers carry bit 30
                default -> nr = r.nextInt();
            }
            long[] args = new long[6];
            for (int i = 0; i < 6; i++) args[i] = r.nextLong();
            if (target != null && target.action() instanceof SeccompRule.AllowIf c && r.nextBoolean()) {
                // make the condition hold in the low word, with arbitrary bits outside the mask and above
                args[c.arg()] = (args[c.arg()] & ~c.mask()) | c.value();
            }
            byte[] data = seccompData(nr, auditArch, args);
            assertEquals(Integer.toHexString(expected(policy, arch, mode, auditArch, nr, args)),
                    Integer.toHexString(run(program, data)),
                    () -> "nr " + nr + " arch 0x" + Integer.toHexString(auditArch) + " under " + policy);
        }
    }

    /** The reference: the first rule naming this number on the compiled architecture decides. */
    private static int expected(SeccompPolicy policy, SeccompArch arch, SeccompMode mode, int auditArch, int nr, long[] args) {
        int violation = mode == SeccompMode.ENFORCE ? KILL_PROCESS : USER_NOTIF;
        if (auditArch != arch.auditArch()) return KILL_PROCESS;
        for (SeccompRule rule : policy.rules()) {
            Integer n = SyscallTable.all(arch).get(rule.syscall());
            if (n == null || n != nr) continue;
            return switch (rule.action()) {
                case SeccompRule.Allow a -> ALLOW;
                case SeccompRule.Errno e -> fails(e.errno(), mode);
                case SeccompRule.AllowIf c -> ((args[c.arg()] & c.mask()) == c.value()) ? ALLOW
                        : c.otherwiseErrno() == 0 ? violation : fails(c.otherwiseErrno(), mode);
            };
        }
        return violation;
    }

    /** A call failed with errno: logged and let run under LOG, except ENOSYS (38), which denies nothing. */
    private static int fails(int errno, SeccompMode mode) {
        return mode == SeccompMode.LOG && errno != 38 ? USER_NOTIF : ERRNO | errno;
    }

    /** {@code struct seccomp_data} as the kernel lays it out on a little-endian machine. */
    static byte[] seccompData(int nr, int auditArch, long[] args) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, nr).putInt(4, auditArch).putLong(8, 0x7f00_1234_5678L);
        for (int i = 0; i < 6; i++) b.putLong(16 + 8 * i, args[i]);
        return b.array();
    }

    /**
     * A classic-BPF interpreter for the instructions a seccomp filter may use here (<linux/filter.h>:
     * BPF_LD|BPF_W|BPF_ABS, BPF_ALU|BPF_AND|BPF_K, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K), with the kernel
     * checker's rules: aligned in-bounds loads, forward jumps inside the program, a return at the end.
     */
    static int run(BpfProgram program, byte[] data) {
        List<Instruction> p = program.instructions();
        int a = 0;
        for (int pc = 0; ; pc++) {
            if (pc >= p.size()) throw new AssertionError("ran off the end of the program");
            Instruction in = p.get(pc);
            switch (in.code()) {
                case 0x20 -> {
                    if (in.k() < 0 || in.k() > 60 || in.k() % 4 != 0) throw new AssertionError("bad load offset " + in.k());
                    a = java.nio.ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(in.k());
                }
                case 0x54 -> a &= in.k();
                case 0x15 -> pc += (a == in.k()) ? in.jt() : in.jf();
                case 0x06 -> {
                    return in.k();
                }
                default -> throw new AssertionError("instruction 0x" + Integer.toHexString(in.code()) + " not expected");
            }
        }
    }
}
