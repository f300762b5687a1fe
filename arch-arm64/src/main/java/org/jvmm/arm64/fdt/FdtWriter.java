package org.jvmm.arm64.fdt;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a flattened device tree blob, version 17, as the Devicetree Specification v0.4 chapter 5
 * ("Flattened Devicetree (DTB) Format") defines it: a 40-byte header, the memory reservation block, the
 * structure block and the strings block, all big-endian.
 *
 * <p>Use it as a cursor: {@link #beginNode} the root (named {@code ""}), add properties and child nodes,
 * {@link #endNode} each, then {@link #finish}. Property names are stored once in the strings block and
 * shared by offset. Misuse (a property after a child node, unbalanced nodes, a second root) throws
 * {@link IllegalStateException}: the tree is the VMM's own output, so a mistake is a jvmm bug.
 *
 * <p>Not thread-safe; one writer makes one blob.
 */
public final class FdtWriter {

    /** The blob's magic number (spec §5.2). */
    public static final int FDT_MAGIC = 0xd00dfeed;
    /** The format version written, and the oldest it is compatible with (spec §5.2). */
    public static final int VERSION = 17;
    public static final int LAST_COMPATIBLE_VERSION = 16;
    static final int HEADER_SIZE = 40;
    static final int FDT_BEGIN_NODE = 1;
    static final int FDT_END_NODE = 2;
    static final int FDT_PROP = 3;
    static final int FDT_END = 9;
    /** Spec §2.2.1: node names are 1–31 characters (plus the unit address). */
    private static final int MAX_NODE_NAME = 31;
    /** Spec §2.2.4: property names are 1–31 characters. */
    private static final int MAX_PROPERTY_NAME = 31;

    private final ByteArrayOutputStream struct = new ByteArrayOutputStream();
    private final ByteArrayOutputStream strings = new ByteArrayOutputStream();
    private final Map<String, Integer> stringOffsets = new HashMap<>();
    private final List<long[]> reservations = new ArrayList<>();
    private int depth;
    private boolean rootDone;
    private boolean childSeen;

    /** An empty blob: no reservations, no nodes. */
    public FdtWriter() {}

    /** Reserves {@code [address, address + size)} from the OS in the memory reservation block (spec §5.3). */
    public FdtWriter reserveMemory(long address, long size) {
        if (size <= 0) throw new IllegalArgumentException("a reservation needs a positive size");
        reservations.add(new long[] {address, size});
        return this;
    }

    /** Opens node {@code name} ({@code ""} for the root, else {@code name[@unit-address]}). */
    public FdtWriter beginNode(String name) {
        if (depth == 0) {
            if (rootDone) throw new IllegalStateException("the tree already has a root");
            if (!name.isEmpty()) throw new IllegalArgumentException("the root node's name is empty, not '" + name + "'");
        } else {
            String base = name.indexOf('@') < 0 ? name : name.substring(0, name.indexOf('@'));
            if (base.isEmpty() || base.length() > MAX_NODE_NAME || !validChars(name, ",._+-@")) {
                throw new IllegalArgumentException("invalid node name '" + name + "'");
            }
        }
        putInt(struct, FDT_BEGIN_NODE);
        putPadded(struct, nulTerminated(name));
        depth++;
        childSeen = false;
        return this;
    }

    /** Closes the innermost open node. */
    public FdtWriter endNode() {
        if (depth == 0) throw new IllegalStateException("no open node to end");
        putInt(struct, FDT_END_NODE);
        depth--;
        childSeen = true;
        if (depth == 0) rootDone = true;
        return this;
    }

    /** A property with raw bytes as its value. */
    public FdtWriter property(String name, byte[] value) {
        if (depth == 0) throw new IllegalStateException("property '" + name + "' outside any node");
        if (childSeen) throw new IllegalStateException("property '" + name + "' after a child node (spec §5.4.2)");
        if (name.isEmpty() || name.length() > MAX_PROPERTY_NAME || !validChars(name, ",._+?#-")) {
            throw new IllegalArgumentException("invalid property name '" + name + "'");
        }
        putInt(struct, FDT_PROP);
        putInt(struct, value.length);
        putInt(struct, stringOffset(name));
        putPadded(struct, value);
        return this;
    }

    /** A property with no value (a boolean such as {@code interrupt-controller}). */
    public FdtWriter property(String name) {
        return property(name, new byte[0]);
    }

    /** A property of big-endian 32-bit cells. */
    public FdtWriter propertyU32(String name, int... cells) {
        ByteBuffer b = ByteBuffer.allocate(4 * cells.length);
        for (int c : cells) b.putInt(c);
        return property(name, b.array());
    }

    /** A property of big-endian 64-bit values (two cells each). */
    public FdtWriter propertyU64(String name, long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length);
        for (long v : values) b.putLong(v);
        return property(name, b.array());
    }

    /** A property holding one or more NUL-terminated strings (a string list if several). */
    public FdtWriter propertyStrings(String name, String... values) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String v : values) b.writeBytes(nulTerminated(v));
        return property(name, b.toByteArray());
    }

    /**
     * Assembles the blob.
     *
     * @param bootCpuId the {@code boot_cpuid_phys} header field: the boot CPU's {@code reg} value
     */
    public byte[] finish(int bootCpuId) {
        if (depth != 0 || !rootDone) throw new IllegalStateException("the tree is incomplete: " + depth + " node(s) open");
        ByteArrayOutputStream structBlock = new ByteArrayOutputStream();
        structBlock.writeBytes(struct.toByteArray());
        putInt(structBlock, FDT_END);

        int rsvOffset = HEADER_SIZE; // 40 is 8-byte aligned, as §5.3 requires of the reservation block
        int rsvSize = 16 * (reservations.size() + 1);
        int structOffset = rsvOffset + rsvSize;
        int stringsOffset = structOffset + structBlock.size();
        int total = stringsOffset + strings.size();

        ByteBuffer out = ByteBuffer.allocate(total);
        out.putInt(FDT_MAGIC).putInt(total).putInt(structOffset).putInt(stringsOffset).putInt(rsvOffset)
                .putInt(VERSION).putInt(LAST_COMPATIBLE_VERSION).putInt(bootCpuId)
                .putInt(strings.size()).putInt(structBlock.size());
        for (long[] r : reservations) out.putLong(r[0]).putLong(r[1]);
        out.putLong(0).putLong(0);
        out.put(structBlock.toByteArray());
        out.put(strings.toByteArray());
        return out.array();
    }

    private int stringOffset(String name) {
        return stringOffsets.computeIfAbsent(name, n -> {
            int offset = strings.size();
            strings.writeBytes(nulTerminated(n));
            return offset;
        });
    }

    private static boolean validChars(String s, String punctuation) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || punctuation.indexOf(c) >= 0;
            if (!ok) return false;
        }
        return true;
    }

    private static byte[] nulTerminated(String s) {
        if (s.indexOf('\0') >= 0) throw new IllegalArgumentException("a device tree string cannot contain NUL");
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[utf8.length + 1];
        System.arraycopy(utf8, 0, out, 0, utf8.length);
        return out;
    }

    /** Writes {@code bytes} and zero-pads to the next 4-byte boundary, as every structure token requires. */
    private static void putPadded(ByteArrayOutputStream out, byte[] bytes) {
        out.writeBytes(bytes);
        for (int i = bytes.length; (i & 3) != 0; i++) out.write(0);
    }

    private static void putInt(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }
}
