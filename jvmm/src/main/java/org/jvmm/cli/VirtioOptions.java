package org.jvmm.cli;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.platform.Platform;
import org.jvmm.core.platform.VirtioMmioSlots;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.sandbox.HelperCommand;
import org.jvmm.sandbox.Sandbox;
import org.jvmm.sandbox.SandboxedDevices;
import org.jvmm.sandbox.peer.FsTag;
import org.jvmm.sandbox.peer.PeerDevices;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.core.run.MachineExtension;
import org.jvmm.virtio.VirtioMmioDevices;
import org.jvmm.virtio.net.DatagramSocketBackend;
import org.jvmm.virtio.net.MacAddress;
import org.jvmm.virtio.net.NetBackend;
import org.jvmm.virtio.net.StreamSocketBackend;
import org.jvmm.virtio.net.TapBackend;

/**
 * The {@code --disk}, {@code --net}, {@code --console}, {@code --vhost-user-blk} and {@code --fs} options
 * turned into virtio devices in the platform's virtio-mmio slots, in that order (disks first, so the first
 * disk is {@code vda}). The last two are served by vhost-user back-ends jvmm did not write (an existing
 * socket's, and virtiofsd's), whatever {@code --sandbox} says.
 */
final class VirtioOptions {

    /** A {@code --disk FILE[,ro]} value. */
    record Disk(Path file, boolean readOnly) {
        static Disk parse(String spec) {
            if (spec.endsWith(",ro")) return new Disk(Path.of(spec.substring(0, spec.length() - 3)), true);
            if (spec.isEmpty() || spec.contains(",")) {
                throw new ConfigurationException("Bad --disk '" + spec + "': give FILE or FILE,ro.");
            }
            return new Disk(Path.of(spec), false);
        }
    }

    /** A {@code --net} value: the backend kind, its target and the MAC address. */
    record Net(String kind, String target, MacAddress mac) {
        static Net parse(String spec) {
            int colon = spec.indexOf(':');
            String kind = colon < 0 ? spec : spec.substring(0, colon);
            String rest = colon < 0 ? "" : spec.substring(colon + 1);
            MacAddress mac = null;
            int comma = rest.indexOf(",mac=");
            if (comma >= 0) {
                mac = MacAddress.parse(rest.substring(comma + 5));
                rest = rest.substring(0, comma);
            }
            if (!List.of("tap", "passt", "unixgram").contains(kind) || rest.isEmpty()) {
                throw new ConfigurationException("Bad --net '" + spec
                        + "': give tap:IFNAME, passt:SOCKET or unixgram:SOCKET, optionally followed by ,mac=MAC.");
            }
            return new Net(kind, rest, mac == null ? MacAddress.random() : mac);
        }

        NetBackend open() {
            return switch (kind) {
                case "tap" -> TapBackend.open(target);
                case "passt" -> StreamSocketBackend.connect(target);
                default -> DatagramSocketBackend.connect(target);
            };
        }
    }

    /** A {@code --fs TAG:DIR} value: the tag the guest mounts, and the host directory it shares. */
    record Share(FsTag tag, Path dir) {
        static Share parse(String spec) {
            int colon = spec.indexOf(':');
            if (colon < 0 || colon == spec.length() - 1) {
                throw new ConfigurationException("Bad --fs '" + spec + "': give TAG:DIR, as in --fs share:/srv/data.");
            }
            return new Share(new FsTag(spec.substring(0, colon)), Path.of(spec.substring(colon + 1)));
        }
    }

    private VirtioOptions() {}

    /** The {@code --sandbox} value: process (the default: each device in its own helper) or none. */
    static Sandbox sandbox(String text) {
        return text == null ? Sandbox.PROCESS : Sandbox.parse(text);
    }

    /**
     * The {@code virtio_mmio.device=SIZE@ADDR:IRQ} words (Linux drivers/virtio/virtio_mmio.c, "command
     * line" form) for the first {@code count} slots, which is where {@link #devices} puts them.
     */
    static String cmdline(VirtioMmioSlots slots, int count) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < count; i++) {
            if (i > 0) s.append(' ');
            s.append("virtio_mmio.device=0x%x@0x%x:%d".formatted(slots.slotSize(), slots.base() + i * slots.slotSize(), slots.irqs().get(i)));
        }
        return s.toString();
    }

    /**
     * Opens every device (in-process) or launches its helper (--sandbox=process), and returns the extension
     * that places them in {@code platform}'s slots when the machine is built, or null when no option asks for
     * one. On a failure the devices and helpers already started are released before it propagates.
     *
     * @param consoleIn  the input for {@code --console stdio}
     * @param consoleOut the output for {@code --console stdio}
     * @param closeLater receives what must be closed when the machine is gone (the pty)
     * @param sandbox    where the devices run: in helper processes or in jvmm
     * @param onHelperLost told, with the log line, when a helper is lost
     * @param helperCommandLine how helpers are launched (a jail's wrapper, or the plain command)
     * @param vhostUserBlks the {@code --vhost-user-blk} sockets
     * @param shares     the {@code --fs TAG:DIR} values
     */
    static MachineExtension devices(Platform platform, List<String> disks, List<String> nets, String console,
                                     InputStream consoleIn, OutputStream consoleOut, PrintStream stderr,
                                     List<AutoCloseable> closeLater, Sandbox sandbox, Consumer<String> onHelperLost,
                                     Function<HelperCommand, List<String>> helperCommandLine,
                                     List<String> vhostUserBlks, List<String> shares) {
        List<Disk> parsedDisks = disks.stream().map(Disk::parse).toList();
        List<Net> parsedNets = nets.stream().map(Net::parse).toList();
        List<Share> parsedShares = shares.stream().map(Share::parse).toList();
        if (!List.of("none", "stdio", "pty").contains(console)) {
            throw new ConfigurationException("Bad --console '" + console + "': give stdio, pty or none.");
        }
        int wanted = parsedDisks.size() + parsedNets.size() + (console.equals("none") ? 0 : 1) + vhostUserBlks.size() + parsedShares.size();
        if (wanted == 0) return null;
        VirtioMmioSlots slots = platform.virtioMmioSlots();
        if (wanted > slots.irqs().size()) {
            throw new ConfigurationException("Too many virtio devices: " + platform.arch() + " has room for "
                    + slots.irqs().size() + ", so remove some --disk, --net, --vhost-user-blk or --fs options.");
        }
        // With --sandbox=process each add launches the device's helper at once, so the helper JVMs start in
        // parallel; open() then waits for them and completes their handshakes.
        SandboxedDevices set = new SandboxedDevices(sandbox, onHelperLost, helperCommandLine);
        PeerDevices peers = new PeerDevices(onHelperLost);
        try {
            for (Disk d : parsedDisks) set.block(d.file(), d.readOnly());
            for (Net n : parsedNets) set.net(n.open(), n.mac());
            switch (console) {
                case "stdio" -> set.console(consoleIn, consoleOut, 80, 25);
                case "pty" -> {
                    Pty pty = Pty.open();
                    closeLater.add(pty);
                    stderr.println("jvmm: virtio-console (hvc0) on " + pty.path());
                    set.console(pty.input(), pty.output(), 80, 25);
                }
                default -> {}
            }
            for (String socket : vhostUserBlks) peers.vhostUserBlock(Path.of(socket));
            for (Share s : parsedShares) peers.fs(s.tag(), s.dir()); // virtiofsd starts now, in parallel too
        } catch (RuntimeException e) {
            set.discard(); // the devices and helpers added so far, so no helper or lock is left behind
            peers.discard();
            throw e;
        }
        // Opened when the machine attaches its devices, after the hypervisor, guest memory and the VM are set
        // up: the helpers start meanwhile. A machine that fails before that releases them with closeLater.
        closeLater.add(set::discard);
        closeLater.add(peers::discard);
        return (vm, mmio, closeDevicesLater) -> {
            VirtioMmioDevices devices = new VirtioMmioDevices(slots.base(), slots.slotSize(), slots.irqs(), EventFd::new);
            List<VirtioDevice> opened = new ArrayList<>(set.open());
            try {
                opened.addAll(peers.open());
            } catch (RuntimeException e) {
                opened.forEach(VirtioDevice::close);
                throw e;
            }
            opened.forEach(devices::add);
            return devices.attach(vm, mmio, closeDevicesLater);
        };
    }
}
