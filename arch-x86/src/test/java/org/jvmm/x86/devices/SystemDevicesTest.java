package org.jvmm.x86.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.jvmm.core.bus.Bus;
import org.jvmm.x86.X86Layout;

/** The i8042 and the ACPI sleep register, reached through a port bus laid out as the platform does. */
class SystemDevicesTest {

    final SystemControl control = new SystemControl();
    final Bus pio = new Bus("pio");

    SystemDevicesTest() {
        pio.register(X86Layout.I8042_DATA_PORT, I8042.LENGTH, new I8042(control));
        pio.register(X86Layout.ACPI_SLEEP_PORT, X86Layout.ACPI_SLEEP_PORT_LENGTH, new AcpiSleepControl(control));
    }

    @Test
    void i8042ResetCommandStopsTheMachineWithStatusZero() {
        assertNull(control.request());
        pio.write(0x64, 1, 0xfe);
        assertNotNull(control.request());
        assertEquals(0, control.request().exitCode());
        assertTrue(control.request().reason().contains("reset"));
    }

    @Test
    void i8042AnswersSelfTestAndConfigurationLikeAController() {
        pio.write(0x64, 1, 0xaa);
        assertEquals(1, pio.read(0x64, 1) & 1, "output buffer full");
        assertEquals(0x55, pio.read(0x60, 1));
        assertEquals(0, pio.read(0x64, 1) & 1);
        pio.write(0x64, 1, 0x60);
        pio.write(0x60, 1, 0x21);
        pio.write(0x64, 1, 0x20);
        assertEquals(0x21, pio.read(0x60, 1));
        assertNull(control.request());
    }

    @Test
    void writingTheOutputPortWithResetLowResets() {
        pio.write(0x64, 1, 0xd1);
        pio.write(0x60, 1, 0xfe);
        assertNotNull(control.request());
    }

    @Test
    void sleepRegisterPowersOffOnS5WithSleepEnableOnly() {
        pio.write(X86Layout.ACPI_SLEEP_PORT, 1, AcpiSleepControl.S5_SLEEP_TYPE << 2); // SLP_EN missing
        assertNull(control.request());
        pio.write(X86Layout.ACPI_SLEEP_PORT, 1, (3 << 2) | 0x20); // S3: not offered
        assertNull(control.request());
        pio.write(X86Layout.ACPI_SLEEP_PORT, 1, (AcpiSleepControl.S5_SLEEP_TYPE << 2) | 0x20);
        assertEquals(0, control.request().exitCode());
        assertTrue(control.request().reason().contains("powered off"));
    }

    @Test
    void theFirstRequestWins() {
        pio.write(X86Layout.ACPI_SLEEP_PORT, 1, (AcpiSleepControl.S5_SLEEP_TYPE << 2) | 0x20);
        pio.write(0x64, 1, 0xfe);
        assertTrue(control.request().reason().contains("powered off"));
    }

    record Access(boolean write, int port, int size, long value) {}

    @Provide
    Arbitrary<List<Access>> accesses() {
        Arbitrary<Integer> port = Arbitraries.oneOf(Arbitraries.integers().between(0x5e, 0x66),
                Arbitraries.integers().between(0x5fe, 0x603));
        return Combinators.combine(Arbitraries.of(true, false), port, Arbitraries.of(1, 2, 4), Arbitraries.longs())
                .as(Access::new).list().ofMaxSize(200);
    }

    @Property(tries = 300)
    void arbitraryPortTrafficNeverThrowsAndOnlyResetOrS5StopTheMachine(@ForAll("accesses") List<Access> trace) {
        SystemControl c = new SystemControl();
        Bus bus = new Bus("pio");
        bus.register(X86Layout.I8042_DATA_PORT, I8042.LENGTH, new I8042(c));
        bus.register(X86Layout.ACPI_SLEEP_PORT, X86Layout.ACPI_SLEEP_PORT_LENGTH, new AcpiSleepControl(c));
        for (Access a : trace) {
            if (a.write()) bus.write(a.port(), a.size(), a.value());
            else bus.read(a.port(), a.size());
            if (c.request() != null) assertEquals(0, c.request().exitCode());
        }
    }
}
