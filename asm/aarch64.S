/*
 * gort context switch, aarch64 (AAPCS64).
 *
 * A suspended context is its stack pointer; gort_swap stores the
 * callee-saved state on the context's own stack in this 176-byte frame
 * (offsets from the saved sp):
 *
 *   0    x29 (fp)   8    x30 (lr: where the context resumes)
 *   16   x19        24   x20
 *   32   x21        40   x22
 *   48   x23        56   x24
 *   64   x25        72   x26
 *   80   x27        88   x28
 *   96   d8         104  d9
 *   112  d10        120  d11
 *   128  d12        136  d13
 *   144  d14        152  d15
 *   160  FPCR       168  (padding, keeps sp 16-byte aligned)
 *
 * AAPCS64 preserves x19-x28, fp, lr, sp and the low 64 bits of v8-v15;
 * FPCR (rounding mode, flush-to-zero) is also preserved across calls, so it
 * travels with the context. Writing FPCR is expensive, so it is written only
 * when the incoming value differs from the outgoing one.
 *
 * The resumed context continues with `ret`, through x30 loaded from its own
 * frame; gort calls gort_swap from a single site, so the return predictor
 * sees the same target on both sides of a switch (see x86_64.S).
 *
 * src/arch.rs builds this frame by hand for a goroutine that has never run
 * and asserts the offsets.
 */

        .text

/*
 * uintptr_t gort_swap(uintptr_t *save_sp, uintptr_t resume_sp, uintptr_t handoff)
 *   x0  where to store the outgoing context's stack pointer
 *   x1  the stack pointer of the context to resume
 *   x2  returned in x0 to the resumed context
 * Clobbers x9, x10 and flags.
 */
        .globl  gort_swap
        .hidden gort_swap
        .type   gort_swap, %function
        .p2align 4
gort_swap:
        .cfi_startproc
        sub     sp, sp, #176
        .cfi_def_cfa_offset 176
        stp     x29, x30, [sp, #0]
        .cfi_offset x29, -176
        .cfi_offset x30, -168
        stp     x19, x20, [sp, #16]
        .cfi_offset x19, -160
        .cfi_offset x20, -152
        stp     x21, x22, [sp, #32]
        .cfi_offset x21, -144
        .cfi_offset x22, -136
        stp     x23, x24, [sp, #48]
        .cfi_offset x23, -128
        .cfi_offset x24, -120
        stp     x25, x26, [sp, #64]
        .cfi_offset x25, -112
        .cfi_offset x26, -104
        stp     x27, x28, [sp, #80]
        .cfi_offset x27, -96
        .cfi_offset x28, -88
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x9, fpcr
        str     x9, [sp, #160]
        mov     x10, sp
        str     x10, [x0]
        /* Now on the other context's stack: same frame shape, same CFI. */
        mov     sp, x1
        ldr     x10, [sp, #160]
        cmp     x9, x10
        b.ne    2f
1:
        .cfi_remember_state
        ldp     x29, x30, [sp, #0]
        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #176
        .cfi_def_cfa_offset 0
        .cfi_restore x29
        .cfi_restore x30
        .cfi_restore x19
        .cfi_restore x20
        .cfi_restore x21
        .cfi_restore x22
        .cfi_restore x23
        .cfi_restore x24
        .cfi_restore x25
        .cfi_restore x26
        .cfi_restore x27
        .cfi_restore x28
        mov     x0, x2
        ret
2:
        .cfi_restore_state
        msr     fpcr, x10
        b       1b
        .cfi_endproc
        .size   gort_swap, .-gort_swap

/*
 * gort_gostart: the bottom frame of every goroutine.
 *
 * Entered by the `ret` of the gort_swap that first resumes a new goroutine,
 * with the registers src/arch.rs seeded:
 *   x0   the M now running us (gort_swap's handoff value)
 *   x19  start function   x20  its argument   x21  the G
 *   x22  entry hook: void hook(M *m, G *gp), finishes the switch
 *   x23  exit hook: void hook(void), never returns
 *   x29  0, so frame-pointer unwinders stop here as well
 * The link register column is undefined so a debugger's backtrace ends
 * cleanly at this frame, right below the goroutine's start function.
 */
        .globl  gort_gostart
        .hidden gort_gostart
        .type   gort_gostart, %function
        .p2align 4
gort_gostart:
        .cfi_startproc
        .cfi_undefined x30
        mov     x1, x21
        blr     x22
        mov     x0, x20
        blr     x19
        blr     x23
        brk     #0
        .cfi_endproc
        .size   gort_gostart, .-gort_gostart

        .section .note.GNU-stack,"",%progbits
