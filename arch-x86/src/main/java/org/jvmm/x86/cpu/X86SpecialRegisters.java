package org.jvmm.x86.cpu;

/**
 * Segment, descriptor-table, control registers and EFER of one vCPU (KVM's {@code kvm_sregs}, without
 * the pending-interrupt bitmap, which jvmm never sets).
 */
public record X86SpecialRegisters(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss,
                                  Segment tr, Segment ldt, DescriptorTable gdt, DescriptorTable idt,
                                  long cr0, long cr2, long cr3, long cr4, long cr8, long efer, long apicBase) {}
