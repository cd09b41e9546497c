/*
 * gort context switch, x86_64 System V.
 *
 * A suspended context is its stack pointer. gort_swap pushes what must
 * survive on the context's own stack; the saved sp points at this frame
 * (lowest address first):
 *
 *   sp+0   rbx
 *   sp+8   rbp
 *   sp+16  return address (where the context resumes)
 *
 * Calling convention: NOT the plain C ABI. gort_swap preserves rbx, rbp
 * and rsp only; its callers (the inline asm in src/arch.rs) declare r12-r15
 * clobbered along with every caller-saved register. The compiler then saves
 * r12-r15 in the calling function's prologue only if it has something live
 * in them, instead of this routine saving all six registers on every
 * switch: 1.7 ns instead of 2.8 ns per one-way switch on the development
 * machine (benches/switch). corosensei uses the same split. rbx and rbp
 * cannot be declared clobbered (LLVM reserves them), so they are saved here.
 * From the point of view of the C code above the runtime, every
 * callee-saved register is preserved across gort_yield & co.
 *
 * The floating-point control state (MXCSR, x87 control word) is not
 * switched: it belongs to the thread, as errno does. On this CPU stmxcsr
 * alone costs 3 ns, more than the rest of the switch; Go and marl make the
 * same choice. A goroutine that changes the rounding mode must restore it
 * before its next scheduling point (README, "Caveats").
 *
 * Return prediction: the switch is an ordinary call answered by an ordinary
 * `ret`, and the runtime calls gort_swap from one place, so both sides of a
 * switch return to the same instruction and the return-stack buffer
 * predicts it. A `pop; jmp` would leave the call's RSB entry behind and
 * make later returns on the resumed stack mispredict.
 */

        .text

/*
 * void *gort_swap(uintptr_t *save_sp, uintptr_t resume_sp, void *handoff)
 *   rdi  where to store the outgoing context's stack pointer
 *   rsi  the stack pointer of the context to resume
 *   rdx  handed to the resumed context: returned in rax from *its* pending
 *        gort_swap (or found in rax by gort_gostart on a first entry)
 * Preserves rbx, rbp, rsp. Clobbers everything else (see above).
 */
        .globl  gort_swap
        .hidden gort_swap
        .type   gort_swap, @function
        .p2align 4
gort_swap:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbx, 0
        movq    %rsp, (%rdi)
        /* Now on the other context's stack: same frame shape, same CFI. */
        movq    %rsi, %rsp
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbx
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbp
        movq    %rdx, %rax
        ret
        .cfi_endproc
        .size   gort_swap, .-gort_swap

/*
 * gort_gostart: the bottom frame of every goroutine.
 *
 * Entered by the `ret` of the gort_swap that first resumes a new goroutine.
 * src/arch.rs built its first frame as [rbx = G][rbp = 0][ret = here]
 * followed by four words that stay above the stack pointer while the
 * goroutine runs:
 *   0(%rsp)   start function       8(%rsp)   its argument
 *   16(%rsp)  entry hook: void hook(M *m, G *gp), finishes the switch
 *   24(%rsp)  exit hook: void hook(void), never returns
 * rax holds the M now running us (gort_swap's handoff), rsp is 16-byte
 * aligned, rbp is 0 so frame-pointer unwinders stop here too.
 *
 * The return address column is undefined: a debugger's backtrace of a
 * goroutine ends cleanly here, right below its start function.
 */
        .globl  gort_gostart
        .hidden gort_gostart
        .type   gort_gostart, @function
        .p2align 4
gort_gostart:
        .cfi_startproc
        .cfi_undefined %rip
        movq    %rax, %rdi
        movq    %rbx, %rsi
        call    *16(%rsp)
        movq    8(%rsp), %rdi
        call    *(%rsp)
        call    *24(%rsp)
        ud2
        .cfi_endproc
        .size   gort_gostart, .-gort_gostart

/*
 * uintptr_t gort_frame_pointer(void): the caller's frame pointer (rbp).
 *
 * Out of line on purpose: a frame pointer read by inline asm may run before
 * the function's prologue (LLVM shrink-wraps it below early exits) and so
 * return the caller's caller's frame; at a call site the caller's own frame
 * is always set up.
 */
        .globl  gort_frame_pointer
        .hidden gort_frame_pointer
        .type   gort_frame_pointer, @function
        .p2align 4
gort_frame_pointer:
        .cfi_startproc
        movq    %rbp, %rax
        ret
        .cfi_endproc
        .size   gort_frame_pointer, .-gort_frame_pointer

/*
 * gdb auto-load: asks gdb to load the goroutine extension
 * (scripts/gdb/gort-gdb.py, installed as share/gort/gort-gdb.py), which it
 * looks for in the current directory and the source path (`directory`),
 * subject to `set auto-load safe-path`. Not loaded into memory.
 */
        .section .debug_gdb_scripts,"MS",@progbits,1
        .byte   1               /* SECTION_SCRIPT_ID_PYTHON_FILE */
        .asciz  "gort-gdb.py"
        .section .note.GNU-stack,"",@progbits
