package org.jvmm.sandbox.vhost;

import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * A {@link Wire} that plays back a scripted stream of chunks (bytes with descriptors attached, as a
 * stream socket would deliver them) and records what the reader did with the descriptors. Descriptor
 * numbers are fake: nothing is really closed.
 */
final class ScriptedWire implements Wire {

    private final Deque<Chunk> chunks = new ArrayDeque<>();
    final List<Integer> handedOut = new ArrayList<>();
    final List<Integer> closed = new ArrayList<>();
    final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    long bytesConsumed;
    boolean wireClosed;

    ScriptedWire(List<Chunk> script) {
        chunks.addAll(script);
    }

    @Override
    public Chunk receive(int maxBytes, int maxFds) throws VhostUserProtocolException {
        if (maxBytes <= 0) throw new AssertionError("the reader asked for " + maxBytes + " bytes");
        Chunk c = chunks.pollFirst();
        if (c == null) return new Chunk(new byte[0], new int[0]);
        int[] fds = c.fds();
        for (int fd : fds) handedOut.add(fd);
        if (fds.length > maxFds) {
            // What LinuxLibc.recvWithFds does: close what arrived and fail.
            for (int fd : fds) closed.add(fd);
            throw new VhostUserProtocolException("more than " + maxFds + " descriptors");
        }
        byte[] data = c.data();
        if (data.length > maxBytes) {
            // A stream socket delivers the rest later; the descriptors stay with the first part.
            chunks.addFirst(new Chunk(Arrays.copyOfRange(data, maxBytes, data.length), new int[0]));
            data = Arrays.copyOf(data, maxBytes);
        }
        bytesConsumed += data.length;
        return new Chunk(data, fds);
    }

    @Override
    public void send(byte[] data) {
        sent.writeBytes(data);
    }

    @Override
    public void closeFd(int fd) {
        closed.add(fd);
    }

    @Override
    public void close() {
        wireClosed = true;
    }
}
