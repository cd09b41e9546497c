/*
 * gort context switch, aarch64 (AAPCS64).
 *
 * A suspended context is its stack pointer; gort_swap stores this 32-byte
 * frame on the context's own stack (offsets from the saved sp):
 *
 *   0   x29 (fp)      8   x30 (lr: where the context resumes)
 *   16  x19           24  (padding: sp stays 16-byte aligned)
 *
 * Calling convention: NOT the plain C ABI. gort_swap preserves x19, x29,
 * x30 (as the resume address) and sp only; its callers (the inline asm in
 * src/arch.rs) declare x20-x28 and d8-d15 clobbered together with every
 * caller-saved register, so the compiler saves those only where something
 * is live in them (see asm/x86_64.S for the reasoning). x19 and x29 cannot
 * be declared clobbered (LLVM reserves them), so they are saved here.
 *
 * FPCR (rounding mode, flush-to-zero) is per thread, not per goroutine, as
 * on x86_64; writing it is expensive and Go does not switch it either.
 *
 * The resumed context continues with `ret` through its own saved x30; the
 * runtime calls gort_swap from one place, so the return predictor sees the
 * same target on both sides of a switch.
 */

        .text

/*
 * void *gort_swap(uintptr_t *save_sp, uintptr_t resume_sp, void *handoff)
 *   x0  where to store the outgoing context's stack pointer
 *   x1  the stack pointer of the context to resume
 *   x2  returned in x0 to the resumed context
 */
        .globl  gort_swap
        .hidden gort_swap
        .type   gort_swap, %function
        .p2align 4
gort_swap:
        .cfi_startproc
        sub     sp, sp, #32
        .cfi_def_cfa_offset 32
        stp     x29, x30, [sp, #0]
        .cfi_offset x29, -32
        .cfi_offset x30, -24
        str     x19, [sp, #16]
        .cfi_offset x19, -16
        mov     x9, sp
        str     x9, [x0]
        /* Now on the other context's stack: same frame shape, same CFI. */
        mov     sp, x1
        ldp     x29, x30, [sp, #0]
        ldr     x19, [sp, #16]
        add     sp, sp, #32
        .cfi_def_cfa_offset 0
        .cfi_restore x29
        .cfi_restore x30
        .cfi_restore x19
        mov     x0, x2
        ret
        .cfi_endproc
        .size   gort_swap, .-gort_swap

/*
 * gort_gostart: the bottom frame of every goroutine.
 *
 * Entered by the `ret` of the gort_swap that first resumes a new goroutine.
 * src/arch.rs built its first frame as [x29 = 0][x30 = here][x19 = G][pad]
 * followed by four words that stay above sp while the goroutine runs:
 *   [sp, #0]   start function      [sp, #8]   its argument
 *   [sp, #16]  entry hook: void hook(M *m, G *gp), finishes the switch
 *   [sp, #24]  exit hook: void hook(void), never returns
 * x0 holds the M now running us (gort_swap's handoff value).
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
        mov     x1, x19
        ldr     x9, [sp, #16]
        blr     x9
        ldp     x9, x0, [sp, #0]
        blr     x9
        ldr     x9, [sp, #24]
        blr     x9
        brk     #0
        .cfi_endproc
        .size   gort_gostart, .-gort_gostart

        /*
 * uintptr_t gort_frame_pointer(void): the caller's frame pointer (x29);
 * out of line for the reason given in asm/x86_64.S.
 */
        .globl  gort_frame_pointer
        .hidden gort_frame_pointer
        .type   gort_frame_pointer, %function
        .p2align 4
gort_frame_pointer:
        .cfi_startproc
        mov     x0, x29
        ret
        .cfi_endproc
        .size   gort_frame_pointer, .-gort_frame_pointer

/*
 * gdb auto-load: asks gdb to load the goroutine extension
 * (scripts/gdb/gort-gdb.py, installed as share/gort/gort-gdb.py), which it
 * looks for in the current directory and the source path (`directory`),
 * subject to `set auto-load safe-path`. Not loaded into memory.
 */
        .section .debug_gdb_scripts,"MS",%progbits,1
        .byte   1               /* SECTION_SCRIPT_ID_PYTHON_FILE */
        .asciz  "gort-gdb.py"
        .section .note.GNU-stack,"",%progbits
