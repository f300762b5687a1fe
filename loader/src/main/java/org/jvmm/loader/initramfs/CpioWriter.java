package org.jvmm.loader.initramfs;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * Writes a cpio archive in the "newc" format (magic 070701), the format the Linux kernel unpacks as an
 * initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * <p>Each entry is a 110-byte header — the magic and thirteen 8-digit hexadecimal fields (ino, mode, uid,
 * gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check) — then the
 * NUL-terminated name, padded to a multiple of 4 bytes, then the data, padded likewise. The archive ends
 * with an entry named {@code TRAILER!!!}.
 *
 * <p>Names are relative ("bin/busybox"); a leading "/" is dropped. The kernel does not create missing
 * parent directories, so this writer adds each missing parent itself (mode 0755) before the entry that
 * needs it. Every entry is owned by root with modification time {@code mtime}, so the same input always
 * gives the same archive. Not thread-safe; {@link #close()} writes the trailer and closes the stream.
 */
public final class CpioWriter implements AutoCloseable {

    private static final int S_IFDIR = 0040000, S_IFREG = 0100000, S_IFLNK = 0120000, S_IFCHR = 0020000,
            S_IFBLK = 0060000;
    private static final String TRAILER = "TRAILER!!!";

    private final OutputStream out;
    private final long mtime;
    private final Set<String> written = new HashSet<>();
    private long offset;
    private int nextInode = 1;
    private boolean finished;

    /** A writer whose entries all have modification time 0 (reproducible archives). */
    public CpioWriter(OutputStream out) {
        this(out, 0);
    }

    /** A writer whose entries have modification time {@code mtime} (seconds since the epoch). */
    public CpioWriter(OutputStream out, long mtime) {
        if (mtime < 0 || mtime > 0xffff_ffffL) throw new IllegalArgumentException("mtime out of range: " + mtime);
        this.out = out;
        this.mtime = mtime;
    }

    /** Adds a directory with the given permission bits (e.g. 0755). */
    public CpioWriter directory(String name, int permissions) {
        entry(name, S_IFDIR | permissions(permissions), 2, 0, 0, new byte[0]);
        return this;
    }

    /** Adds a regular file with the given permission bits (e.g. 0755 for an executable) and content. */
    public CpioWriter file(String name, int permissions, byte[] content) {
        entry(name, S_IFREG | permissions(permissions), 1, 0, 0, content);
        return this;
    }

    /** Adds a symbolic link to {@code target} (which may be relative or absolute; it is stored as given). */
    public CpioWriter symlink(String name, String target) {
        if (target.isEmpty() || target.indexOf('\0') >= 0) throw new IllegalArgumentException("bad symlink target: " + target);
        entry(name, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** Adds a character device node, e.g. {@code /dev/console} is major 5, minor 1. */
    public CpioWriter characterDevice(String name, int permissions, int major, int minor) {
        entry(name, S_IFCHR | permissions(permissions), 1, major(major), minor(minor), new byte[0]);
        return this;
    }

    /** Adds a block device node. */
    public CpioWriter blockDevice(String name, int permissions, int major, int minor) {
        entry(name, S_IFBLK | permissions(permissions), 1, major(major), minor(minor), new byte[0]);
        return this;
    }

    /** Whether an entry (given or added as a parent) with this name has been written. */
    public boolean contains(String name) {
        return written.contains(normalize(name));
    }

    /** Writes the trailer and flushes; later entries are refused. Calling it again does nothing. */
    public void finish() {
        if (finished) return;
        header(TRAILER, 0, 0, 1, 0, 0, 0);
        finished = true;
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Finishes the archive and closes the underlying stream. */
    @Override
    public void close() {
        try (out) {
            finish();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void entry(String rawName, int mode, int nlink, int rdevMajor, int rdevMinor, byte[] data) {
        if (finished) throw new IllegalStateException("the archive is finished");
        String name = normalize(rawName);
        if (written.contains(name)) throw new IllegalArgumentException("duplicate archive entry: " + name);
        int slash = name.lastIndexOf('/');
        if (slash > 0 && !written.contains(name.substring(0, slash))) {
            directory(name.substring(0, slash), 0755);
        }
        written.add(name);
        header(name, mode, data.length, nlink, rdevMajor, rdevMinor, nextInode++);
        write(data);
        pad();
    }

    private void header(String name, int mode, long size, int nlink, int rdevMajor, int rdevMinor, int inode) {
        byte[] nameBytes = (name + '\0').getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(110).append("070701");
        for (long field : new long[]{inode, mode, 0, 0, nlink, name.equals(TRAILER) ? 0 : mtime, size, 0, 0,
                rdevMajor, rdevMinor, nameBytes.length, 0}) {
            String hex = Long.toHexString(field);
            h.append("0".repeat(8 - hex.length())).append(hex);
        }
        write(h.toString().getBytes(StandardCharsets.US_ASCII));
        write(nameBytes);
        pad();
    }

    private void write(byte[] bytes) {
        try {
            out.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        offset += bytes.length;
    }

    private void pad() {
        int fill = (int) (-offset & 3);
        if (fill != 0) write(new byte[fill]);
    }

    private static String normalize(String name) {
        String n = name;
        while (n.startsWith("/")) n = n.substring(1);
        while (n.endsWith("/")) n = n.substring(0, n.length() - 1);
        if (n.isEmpty() || n.equals(TRAILER) || n.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad archive entry name: \"" + name + "\"");
        }
        for (String part : n.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw new IllegalArgumentException("bad archive entry name: \"" + name + "\"");
            }
        }
        return n;
    }

    private static int permissions(int p) {
        if ((p & ~07777) != 0) throw new IllegalArgumentException("permission bits out of range: 0" + Integer.toOctalString(p));
        return p;
    }

    // Linux device numbers: 12-bit major, 20-bit minor (include/linux/kdev_t.h).
    private static int major(int major) {
        if (major < 0 || major > 0xfff) throw new IllegalArgumentException("device major out of range: " + major);
        return major;
    }

    private static int minor(int minor) {
        if (minor < 0 || minor > 0xfffff) throw new IllegalArgumentException("device minor out of range: " + minor);
        return minor;
    }
}
