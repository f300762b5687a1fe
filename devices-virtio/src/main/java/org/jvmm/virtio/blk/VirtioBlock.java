package org.jvmm.virtio.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.virtio.DeviceContext;
import org.jvmm.virtio.QueueWorker;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.queue.BufferCursor;
import org.jvmm.virtio.queue.DescriptorChain;

/**
 * virtio-blk (virtio 1.2 §5.2) on a {@link DiskImage}, served in-process on one worker thread per
 * activation (never on a vCPU thread).
 *
 * <p>A request is a byte stream, however the driver split it into descriptors (§2.7.4): a 16-byte
 * header {@code {le32 type; le32 reserved; le64 sector}} in the readable part, data after it (readable
 * for OUT, DISCARD, WRITE_ZEROES; writable for IN, GET_ID), and the status byte as the very last
 * writable byte. Every request is checked completely before any byte of the image changes:
 * <ul>
 *   <li>no header or no status byte: the chain is returned with nothing written (the driver broke the
 *       framing, so there is nowhere to put a status);</li>
 *   <li>IN/OUT data not a multiple of 512 bytes, sectors past the end of the disk (including 64-bit
 *       overflow), a write to a read-only disk, more discard/write-zeroes segments or sectors than the
 *       configuration space advertises: IOERR;</li>
 *   <li>unknown request types, DISCARD/WRITE_ZEROES the driver did not negotiate, DISCARD with the unmap
 *       flag, or undefined segment flags: UNSUPP.</li>
 * </ul>
 */
public final class VirtioBlock implements VirtioDevice {

    private static final Logger LOG = Logger.getLogger(VirtioBlock.class.getName());

    /** §5.2.1: the block device's ID. */
    public static final int DEVICE_TYPE = 2;
    public static final int SECTOR_SIZE = 512;

    /** §5.2.3 feature bits. */
    public static final int F_SEG_MAX = 2, F_RO = 5, F_FLUSH = 9, F_DISCARD = 13, F_WRITE_ZEROES = 14;
    /** §5.2.6 request types. */
    public static final int T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WRITE_ZEROES = 13;
    /** §5.2.6 status values. */
    public static final int S_OK = 0, S_IOERR = 1, S_UNSUPP = 2;
    /** §5.2.6: the only defined flag of a discard / write-zeroes segment. */
    public static final int SEGMENT_FLAG_UNMAP = 1;
    /** §5.2.6: GET_ID answers with a 20-byte, NUL-padded identifier. */
    public static final int ID_BYTES = 20;

    /** Queue size: what Linux and QEMU use for virtio-blk. */
    public static final int QUEUE_SIZE = 256;
    /** Limits advertised in the configuration space for discard and write-zeroes. */
    public static final int MAX_DISCARD_SECTORS = 1 << 16, MAX_DISCARD_SEGMENTS = 16;

    private static final int HEADER_BYTES = 16;
    private static final int SEGMENT_BYTES = 16;

    private final DiskImage image;
    private final byte[] id;
    private final long capacity;
    private final long features;
    private final byte[] config;
    private volatile DeviceContext context;
    private QueueWorker worker;

    /** A block device on {@code image}, answering GET_ID with {@code id} (truncated to 20 bytes). */
    public VirtioBlock(DiskImage image, String id) {
        this.image = image;
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        this.id = Arrays.copyOf(idBytes, ID_BYTES);
        this.capacity = image.size() / SECTOR_SIZE;
        long f = VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
                | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) | VirtioFeatures.bit(F_SEG_MAX) | VirtioFeatures.bit(F_FLUSH);
        if (image.readOnly()) {
            f |= VirtioFeatures.bit(F_RO);
        } else {
            // WRITE_ZEROES only promises that the range reads as zeroes (write_zeroes_may_unmap stays 0),
            // which writing zeroes keeps on any host. DISCARD exists to give space back; where the host
            // cannot deallocate (macOS) it would turn a guest's fstrim into zero writes over every free
            // block that ever held data, for no space at all, so it is not offered there and the guest
            // simply does not discard.
            f |= VirtioFeatures.bit(F_WRITE_ZEROES);
            if (image.discardFreesSpace()) f |= VirtioFeatures.bit(F_DISCARD);
        }
        this.features = f;
        this.config = buildConfig();
    }

    /** A block device on {@code image}, identified by its file name. */
    public VirtioBlock(DiskImage image) {
        this(image, String.valueOf(image.path().getFileName()));
    }

    private byte[] buildConfig() {
        // struct virtio_blk_config (§5.2.4) up to write_zeroes_may_unmap and its padding.
        ByteBuffer b = ByteBuffer.allocate(60).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, capacity);
        b.putInt(12, QUEUE_SIZE - 2); // seg_max: the header and status take two descriptors
        b.putInt(36, MAX_DISCARD_SECTORS);
        b.putInt(40, MAX_DISCARD_SEGMENTS);
        b.putInt(44, 1); // discard_sector_alignment, in sectors
        b.putInt(48, MAX_DISCARD_SECTORS); // max_write_zeroes_sectors
        b.putInt(52, MAX_DISCARD_SEGMENTS); // max_write_zeroes_seg
        return b.array();
    }

    @Override public int deviceType() { return DEVICE_TYPE; }
    @Override public String name() { return "virtio-blk(" + image.path().getFileName() + ")"; }
    @Override public int queueCount() { return 1; }
    @Override public int maxQueueSize() { return QUEUE_SIZE; }
    @Override public long features() { return features; }
    @Override public int configSize() { return config.length; }

    /** The disk's size in 512-byte sectors. */
    public long capacity() {
        return capacity;
    }

    @Override
    public long readConfig(int offset, int size) {
        return VirtioDevice.readLittleEndian(config, offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // Only `writeback` is writable, and only with VIRTIO_BLK_F_CONFIG_WCE, which is not offered.
    }

    @Override
    public synchronized void activate(DeviceContext context) {
        var queue = context.queue(0);
        if (queue.isEmpty()) {
            context.fail("the driver did not set up the request queue");
            return;
        }
        this.context = context;
        worker = QueueWorker.start(name(), context, queue.get(), this::handle);
    }

    @Override
    public synchronized void reset() {
        if (worker != null) worker.stop();
        worker = null;
        context = null;
    }

    @Override
    public void close() {
        reset();
        image.close();
    }

    /**
     * Serves one request chain against the current activation; returns the bytes written into the chain.
     */
    public long handle(DescriptorChain chain) {
        DeviceContext c = context;
        return c == null ? 0 : handle(c.memory(), c.features(), chain);
    }

    /** Serves one request chain with the negotiated {@code negotiated} features; returns the bytes written. */
    long handle(GuestMemory memory, long negotiated, DescriptorChain chain) {
        BufferCursor in = new BufferCursor(memory, chain.readable());
        BufferCursor out = new BufferCursor(memory, chain.writable());
        if (in.remaining() < HEADER_BYTES || out.remaining() < 1) {
            LOG.log(Level.FINE, "{0}: chain {1} has no header or no status byte", new Object[] {name(), chain.head()});
            return 0;
        }
        ByteBuffer header = ByteBuffer.wrap(in.read(HEADER_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        int type = header.getInt(0);
        long sector = header.getLong(8);
        long writableData = out.remaining() - 1;
        long written = 0;
        int status;
        try {
            switch (type) {
                case T_IN -> {
                    status = checkRange(sector, writableData);
                    if (status == S_OK) {
                        long position = sector * SECTOR_SIZE;
                        for (MemorySegment s : out.take(writableData)) {
                            image.read(position, s);
                            position += s.byteSize();
                        }
                        written = writableData;
                    }
                }
                case T_OUT -> {
                    long length = in.remaining();
                    status = image.readOnly() ? S_IOERR : checkRange(sector, length);
                    if (status == S_OK) {
                        long position = sector * SECTOR_SIZE;
                        for (MemorySegment s : in.take(length)) {
                            image.write(position, s);
                            position += s.byteSize();
                        }
                    }
                }
                case T_FLUSH -> {
                    image.flush();
                    status = S_OK;
                }
                case T_GET_ID -> {
                    int n = (int) Math.min(ID_BYTES, writableData);
                    out.write(Arrays.copyOf(id, n));
                    written = n;
                    status = S_OK;
                }
                case T_DISCARD, T_WRITE_ZEROES -> status = discardOrZero(type, negotiated, in);
                default -> status = S_UNSUPP;
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, name() + ": I/O error", e);
            status = S_IOERR;
        }
        out.skip(out.remaining() - 1);
        out.write(new byte[] {(byte) status});
        return written + 1;
    }

    /** IOERR unless {@code length} bytes from {@code sector} are whole sectors inside the disk. */
    private int checkRange(long sector, long length) {
        if (length % SECTOR_SIZE != 0) return S_IOERR;
        long sectors = length / SECTOR_SIZE;
        if (sector < 0 || sector > capacity || sectors > capacity - sector) return S_IOERR;
        return S_OK;
    }

    private record Segment(long sector, long sectors) {}

    private int discardOrZero(int type, long negotiated, BufferCursor in) throws IOException {
        boolean discard = type == T_DISCARD;
        if (!VirtioFeatures.has(negotiated, discard ? F_DISCARD : F_WRITE_ZEROES)) return S_UNSUPP;
        if (image.readOnly()) return S_IOERR;
        long bytes = in.remaining();
        if (bytes == 0 || bytes % SEGMENT_BYTES != 0 || bytes / SEGMENT_BYTES > MAX_DISCARD_SEGMENTS) return S_IOERR;
        List<Segment> segments = new ArrayList<>();
        for (long i = 0; i < bytes / SEGMENT_BYTES; i++) {
            ByteBuffer s = ByteBuffer.wrap(in.read(SEGMENT_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
            long sector = s.getLong(0);
            long sectors = Integer.toUnsignedLong(s.getInt(8));
            int flags = s.getInt(12);
            if ((flags & ~SEGMENT_FLAG_UNMAP) != 0 || (discard && flags != 0)) return S_UNSUPP;
            if (sectors > MAX_DISCARD_SECTORS || checkRange(sector, sectors * SECTOR_SIZE) != S_OK) return S_IOERR;
            segments.add(new Segment(sector, sectors));
        }
        for (Segment s : segments) {
            if (discard) image.discard(s.sector * SECTOR_SIZE, s.sectors * SECTOR_SIZE);
            else image.writeZeroes(s.sector * SECTOR_SIZE, s.sectors * SECTOR_SIZE);
        }
        return S_OK;
    }
}
