package org.jvmm.x86.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal ACPI Machine Language encoder (ACPI 6.5 §20.2, "AML Grammar Definition"): just the terms a
 * VMM's DSDT needs — Scope, Device, Name, integers, strings, buffers, packages, EISAID and resource
 * templates (§6.4) with IO, IRQNoFlags, Memory32Fixed and extended Interrupt descriptors.
 *
 * <p>Every method returns the encoded bytes of one term, so terms compose by nesting calls.
 * Names are 4-character NameSegs, optionally preceded by {@code \} (root) and joined with {@code .}.
 */
public final class Aml {

    private Aml() {}

    static final int ZERO_OP = 0x00, ONE_OP = 0x01, NAME_OP = 0x08, BYTE_PREFIX = 0x0a, WORD_PREFIX = 0x0b,
            DWORD_PREFIX = 0x0c, STRING_PREFIX = 0x0d, QWORD_PREFIX = 0x0e, SCOPE_OP = 0x10, BUFFER_OP = 0x11,
            PACKAGE_OP = 0x12, EXT_OP_PREFIX = 0x5b, DEVICE_OP = 0x82, ONES_OP = 0xff,
            ROOT_CHAR = 0x5c, DUAL_NAME_PREFIX = 0x2e, MULTI_NAME_PREFIX = 0x2f;

    /** {@code Scope(name) { terms }}. */
    public static byte[] scope(String name, byte[]... terms) {
        return concat(new byte[] {(byte) SCOPE_OP}, pkg(concat(nameString(name), concat(terms))));
    }

    /** {@code Device(name) { terms }}. */
    public static byte[] device(String name, byte[]... terms) {
        return concat(new byte[] {(byte) EXT_OP_PREFIX, (byte) DEVICE_OP}, pkg(concat(nameString(name), concat(terms))));
    }

    /** {@code Name(name, value)}. */
    public static byte[] name(String name, byte[] value) {
        return concat(new byte[] {(byte) NAME_OP}, nameString(name), value);
    }

    /** An integer constant in its shortest encoding (Zero, One, Ones, Byte/Word/DWord/QWordConst). */
    public static byte[] integer(long v) {
        if (v == 0) return new byte[] {ZERO_OP};
        if (v == 1) return new byte[] {ONE_OP};
        if (v == -1) return new byte[] {(byte) ONES_OP};
        if ((v & ~0xffL) == 0) return new byte[] {BYTE_PREFIX, (byte) v};
        if ((v & ~0xffffL) == 0) return concat(new byte[] {WORD_PREFIX}, le(v, 2));
        if ((v & ~0xffffffffL) == 0) return concat(new byte[] {DWORD_PREFIX}, le(v, 4));
        return concat(new byte[] {QWORD_PREFIX}, le(v, 8));
    }

    /** A string constant (ASCII, no NUL inside). */
    public static byte[] string(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        for (byte c : b) {
            if (c == 0 || c < 0) throw new IllegalArgumentException("AML strings are 7-bit ASCII without NUL: " + s);
        }
        return concat(new byte[] {STRING_PREFIX}, b, new byte[] {0});
    }

    /** {@code EISAID("PNP0501")}: a compressed 32-bit EISA ID (three letters, four hex digits). */
    public static byte[] eisaId(String id) {
        if (id.length() != 7) throw new IllegalArgumentException("EISA ID must be 7 characters: " + id);
        int c0 = id.charAt(0) - 0x40, c1 = id.charAt(1) - 0x40, c2 = id.charAt(2) - 0x40;
        for (int c : new int[] {c0, c1, c2}) {
            if (c < 1 || c > 26) throw new IllegalArgumentException("EISA ID must start with three capitals: " + id);
        }
        int product = Integer.parseInt(id.substring(3), 16);
        int v = (c0 << 10 | c1 << 5 | c2) << 16 | product;
        // The encoding stores the vendor and product words big-endian within a little-endian DWORD.
        int swapped = ((v >>> 24) & 0xff) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
        return concat(new byte[] {DWORD_PREFIX}, le(Integer.toUnsignedLong(swapped), 4));
    }

    /** {@code Buffer() { bytes }}. */
    public static byte[] buffer(byte[] bytes) {
        return concat(new byte[] {BUFFER_OP}, pkg(concat(integer(bytes.length), bytes)));
    }

    /** {@code Package() { elements }} (at most 255 elements). */
    public static byte[] packageOf(byte[]... elements) {
        if (elements.length > 255) throw new IllegalArgumentException("too many package elements");
        return concat(new byte[] {PACKAGE_OP}, pkg(concat(new byte[] {(byte) elements.length}, concat(elements))));
    }

    /** {@code ResourceTemplate() { descriptors }}: a buffer ending with an End Tag (checksum 0: "treat as valid"). */
    public static byte[] resourceTemplate(byte[]... descriptors) {
        return buffer(concat(concat(descriptors), new byte[] {0x79, 0}));
    }

    /** {@code IO(Decode16, base, base, 1, length)}: a fixed I/O port range (§6.4.2.5). */
    public static byte[] io(int base, int length) {
        return new byte[] {0x47, 1, (byte) base, (byte) (base >> 8), (byte) base, (byte) (base >> 8), 1, (byte) length};
    }

    /** {@code IRQNoFlags() { irq }}: an ISA interrupt, edge-triggered active-high (§6.4.2.1). */
    public static byte[] irqNoFlags(int irq) {
        if (irq < 0 || irq > 15) throw new IllegalArgumentException("ISA IRQ must be 0..15: " + irq);
        int mask = 1 << irq;
        return new byte[] {0x22, (byte) mask, (byte) (mask >> 8)};
    }

    /** {@code Memory32Fixed(ReadWrite, base, length)} (§6.4.3.4). */
    public static byte[] memory32Fixed(long base, long length) {
        return concat(new byte[] {(byte) 0x86, 9, 0, 1}, le(base, 4), le(length, 4));
    }

    /**
     * {@code Interrupt(ResourceConsumer, Level|Edge, ActiveHigh, Exclusive) { gsi }} (§6.4.3.6).
     *
     * @param level true for level-triggered
     */
    public static byte[] interrupt(int gsi, boolean level) {
        int flags = 0x01 | (level ? 0 : 0x02); // consumer; bit 1 = edge
        return concat(new byte[] {(byte) 0x89, 6, 0, (byte) flags, 1}, le(gsi, 4));
    }

    /** A NameString: optional root prefix, then one, two or more NameSegs joined by '.'. */
    static byte[] nameString(String name) {
        boolean root = name.startsWith("\\");
        String[] segs = (root ? name.substring(1) : name).split("\\.");
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        if (root) o.write(ROOT_CHAR);
        if (segs.length == 2) o.write(DUAL_NAME_PREFIX);
        if (segs.length > 2) {
            o.write(MULTI_NAME_PREFIX);
            o.write(segs.length);
        }
        for (String s : segs) o.writeBytes(nameSeg(s));
        return o.toByteArray();
    }

    private static byte[] nameSeg(String s) {
        if (s.isEmpty() || s.length() > 4) throw new IllegalArgumentException("bad AML name segment: " + s);
        String padded = (s + "____").substring(0, 4);
        for (int i = 0; i < 4; i++) {
            char c = padded.charAt(i);
            boolean ok = c == '_' || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
            if (!ok) throw new IllegalArgumentException("bad AML name segment: " + s);
        }
        return padded.getBytes(StandardCharsets.US_ASCII);
    }

    /** Prefixes {@code body} with its PkgLength (§20.2.4), which counts its own bytes too. */
    static byte[] pkg(byte[] body) {
        int n = body.length;
        byte[] lead;
        if (n + 1 <= 0x3f) {
            lead = new byte[] {(byte) (n + 1)};
        } else if (n + 2 <= 0xfff) {
            int t = n + 2;
            lead = new byte[] {(byte) (0x40 | (t & 0xf)), (byte) (t >> 4)};
        } else if (n + 3 <= 0xfffff) {
            int t = n + 3;
            lead = new byte[] {(byte) (0x80 | (t & 0xf)), (byte) (t >> 4), (byte) (t >> 12)};
        } else if (n + 4 <= 0xfffffff) {
            int t = n + 4;
            lead = new byte[] {(byte) (0xc0 | (t & 0xf)), (byte) (t >> 4), (byte) (t >> 12), (byte) (t >> 20)};
        } else {
            throw new IllegalArgumentException("AML package too large: " + n);
        }
        return concat(lead, body);
    }

    static byte[] le(long v, int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) b[i] = (byte) (v >>> (8 * i));
        return b;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }
}
