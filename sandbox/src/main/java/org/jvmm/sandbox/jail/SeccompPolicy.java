package org.jvmm.sandbox.jail;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.jvmm.core.sys.linux.Errno;

/**
 * A helper's seccomp allow-list as readable data: the rules of one device, over the common base every
 * helper JVM needs. Policies live beside this class as {@code DEVICE.policy} resources
 * ({@code base.policy}, {@code blk.policy}, {@code net.policy}, {@code console.policy}) in this format:
 *
 * <pre>
 * # a comment, to the end of the line
 * &#64;include base                       the rules of base.policy, in place
 * futex                               allowed
 * clone if arg0 &amp; 0x10000 == 0x10000  allowed when the masked argument equals the value, else a violation
 * newfstatat if arg3 &amp; 0x1000 == 0x1000 else errno EACCES    ... else it fails with EACCES
 * clone3 errno ENOSYS                 fails with ENOSYS without running
 * </pre>
 *
 * Every other call is a violation ({@link SeccompMode}). A call may be named once per policy; a name
 * an architecture lacks (x86-64's {@code open} on arm64) is simply not compiled for it, so one policy
 * serves both. The filter tests rules in order, so the hottest calls come first.
 *
 * @param name  the device (or base) the policy is for, used in messages
 * @param rules the rules in the order written, includes expanded
 */
public record SeccompPolicy(String name, List<SeccompRule> rules) {

    public SeccompPolicy {
        rules = List.copyOf(rules);
        Set<String> seen = new HashSet<>();
        for (SeccompRule r : rules) {
            if (!seen.add(r.syscall())) {
                throw new IllegalArgumentException("policy " + name + " names " + r.syscall() + " twice");
            }
        }
    }

    /** The policy of {@code device} ({@code blk}, {@code net}, {@code console}, or {@code base} alone). */
    public static SeccompPolicy forDevice(String device) {
        return parse(device, resource(device), SeccompPolicy::resource);
    }

    /**
     * Reads policy {@code name} from {@code text}; {@code includes} supplies the text of an included
     * policy by name. A malformed line throws {@link IllegalArgumentException} naming the line.
     */
    public static SeccompPolicy parse(String name, String text, Function<String, String> includes) {
        List<SeccompRule> rules = new ArrayList<>();
        parseInto(name, text, includes, rules, new HashSet<>());
        return new SeccompPolicy(name, rules);
    }

    private static void parseInto(String name, String text, Function<String, String> includes,
                                  List<SeccompRule> rules, Set<String> including) {
        if (!including.add(name)) throw new IllegalArgumentException("policy " + name + " includes itself");
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int hash = line.indexOf('#');
            String[] words = (hash >= 0 ? line.substring(0, hash) : line).strip().split("\\s+");
            if (words[0].isEmpty()) continue;
            try {
                if (words[0].equals("@include")) {
                    expect(words.length == 2, "@include takes one policy name");
                    parseInto(words[1], includes.apply(words[1]), includes, rules, including);
                } else {
                    rules.add(rule(words));
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("policy " + name + " line " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        including.remove(name);
    }

    private static SeccompRule rule(String[] w) {
        if (w.length == 1) return new SeccompRule(w[0], new SeccompRule.Allow());
        if (w[1].equals("errno")) {
            expect(w.length == 3, "errno takes one name, as in: clone3 errno ENOSYS");
            return new SeccompRule(w[0], new SeccompRule.Errno(errno(w[2])));
        }
        if (w[1].equals("if")) {
            boolean otherwise = w.length == 10 && w[7].equals("else") && w[8].equals("errno");
            expect((w.length == 7 || otherwise) && w[2].matches("arg[0-5]") && w[3].equals("&") && w[5].equals("=="),
                    "a condition reads: if argN & MASK == VALUE, optionally followed by: else errno NAME");
            return new SeccompRule(w[0], new SeccompRule.AllowIf(w[2].charAt(3) - '0', number(w[4]), number(w[6]),
                    otherwise ? errno(w[9]) : 0));
        }
        throw new IllegalArgumentException("after the call name comes nothing, errno NAME, or if argN & MASK == VALUE [else errno NAME]");
    }

    private static void expect(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    private static long number(String s) {
        try {
            return s.startsWith("0x") ? Long.parseLong(s.substring(2), 16) : Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: " + s);
        }
    }

    private static int errno(String s) {
        for (int e = 1; e < 200; e++) {
            if (Errno.name(e).equals(s)) return e;
        }
        throw new IllegalArgumentException("not an errno name jvmm knows: " + s);
    }

    private static String resource(String name) {
        if (!name.matches("[a-z0-9-]+")) throw new IllegalArgumentException("no policy is named " + name);
        try (InputStream in = SeccompPolicy.class.getResourceAsStream(name + ".policy")) {
            if (in == null) throw new IllegalArgumentException("no seccomp policy for " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
