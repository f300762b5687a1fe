package org.jvmm.sandbox.vhost;

import java.util.List;

/**
 * The body of a vhost-user message, one record per layout of vhost-user.rst's "Message types" section.
 * Every record is already validated by {@link VhostUserCodec}: sizes, counts and reserved bits.
 */
public sealed interface VhostUserPayload {

    /** No body (GET_FEATURES, SET_OWNER, RESET_DEVICE, ...). */
    record Empty() implements VhostUserPayload {}

    /** A 64-bit value: feature bits, or a reply's status (0 success). */
    record U64(long value) implements VhostUserPayload {}

    /** {@code struct vhost_vring_state}: a ring index and a number (size, base index or enable flag). */
    record VringState(int index, long num) implements VhostUserPayload {}

    /**
     * {@code struct vhost_vring_addr}: where a ring's parts live, as addresses in the front-end's own
     * address space (translated through the memory table), not guest-physical addresses.
     */
    record VringAddress(int index, int flags, long descriptorTable, long usedRing, long availableRing, long log)
            implements VhostUserPayload {}

    /**
     * SET_VRING_KICK / CALL / ERR: a ring index and whether a descriptor comes with it (bit 8, "no fd",
     * means polling for kicks or no notification for calls).
     */
    record VringFile(int index, boolean noFd) implements VhostUserPayload {}

    /** One {@code VhostUserMemoryRegion}: guest-physical range, front-end address, offset into its fd. */
    record Region(long guestAddress, long size, long userAddress, long mmapOffset) {
        /** The exclusive end of the guest-physical range. */
        public long guestEnd() {
            return guestAddress + size;
        }
    }

    /** SET_MEM_TABLE: the regions, in message order; descriptor {@code i} maps region {@code i}. */
    record MemoryTable(List<Region> regions) implements VhostUserPayload {
        public MemoryTable {
            regions = List.copyOf(regions);
        }
    }

    /** GET_CONFIG / SET_CONFIG: a window of the device's configuration space. */
    record Config(int offset, int flags, byte[] data) implements VhostUserPayload {
        public Config {
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }
    }
}
