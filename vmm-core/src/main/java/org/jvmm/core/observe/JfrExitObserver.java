package org.jvmm.core.observe;

import org.jvmm.core.hypervisor.VcpuExit;

/**
 * Turns every exit into a {@link VcpuExitEvent} for the JDK Flight Recorder.
 *
 * <p>Events are committed only while a recording enables {@code org.jvmm.VcpuExit}
 * ({@code -XX:StartFlightRecording}, {@code jcmd PID JFR.start}, the command's {@code --jfr FILE});
 * otherwise the observer allocates an event the JIT can eliminate and returns, so it can stay installed.
 */
public final class JfrExitObserver implements ExitObserver {

    @Override
    public void onExit(int vcpu, VcpuExit exit, String device, long value, long handlingNanos) {
        VcpuExitEvent event = new VcpuExitEvent();
        if (!event.isEnabled()) return;
        event.vcpu = vcpu;
        event.reason = ExitReason.of(exit).label();
        event.address = ExitReason.location(exit);
        event.size = ExitReason.size(exit);
        event.value = value;
        event.device = device;
        event.handlingTime = handlingNanos;
        event.commit();
    }
}
