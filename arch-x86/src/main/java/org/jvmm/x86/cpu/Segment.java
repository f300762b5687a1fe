package org.jvmm.x86.cpu;

/**
 * A segment register's hidden descriptor cache (KVM's {@code kvm_segment}).
 *
 * @param type     the 4-bit descriptor type (for example 0xb: execute/read, accessed)
 * @param s        1 for code/data, 0 for system segments
 * @param db       default operation size (1 = 32-bit); must be 0 for 64-bit code
 * @param l        64-bit code segment
 * @param g        limit granularity is 4 KiB
 */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db,
                      boolean s, boolean l, boolean g, boolean avl, boolean unusable) {

    /**
     * Decodes a GDT entry: what the CPU would load into the cache for {@code selector}.
     * Used to keep the GDT in guest memory and the registers consistent.
     */
    public static Segment fromGdtEntry(int selector, long entry) {
        long base = ((entry >>> 16) & 0xffffff) | (((entry >>> 56) & 0xff) << 24);
        int limit = (int) ((entry & 0xffff) | (((entry >>> 48) & 0xf) << 16));
        boolean g = ((entry >>> 55) & 1) != 0;
        if (g) limit = (limit << 12) | 0xfff;
        return new Segment(base, limit, selector, (int) ((entry >>> 40) & 0xf), ((entry >>> 47) & 1) != 0,
                (int) ((entry >>> 45) & 3), ((entry >>> 54) & 1) != 0, ((entry >>> 44) & 1) != 0,
                ((entry >>> 53) & 1) != 0, g, ((entry >>> 52) & 1) != 0, false);
    }
}
