/*
 * gort context switch, x86_64 System V.
 *
 * A suspended context is nothing but a stack pointer. Everything else the
 * ABI asks a callee to preserve is pushed on the context's own stack by
 * gort_swap, in this layout (lowest address first, the saved sp points at
 * the first word):
 *
 *   sp+0   MXCSR (low 4 bytes) | x87 control word (bytes 4-5) | 0
 *   sp+8   r15
 *   sp+16  r14
 *   sp+24  r13
 *   sp+32  r12
 *   sp+40  rbx
 *   sp+48  rbp
 *   sp+56  return address (where the context resumes)
 *
 * src/arch.rs builds the same frame by hand for a goroutine that has never
 * run (returning "into" gort_gostart) and asserts these offsets.
 *
 * Why push/pop and a real `ret`: the switch is a normal call, so the CPU's
 * return-stack buffer predicts the `ret` to come back to the call site that
 * pushed it. gort calls gort_swap from one site in src/proc.rs; both sides
 * of a switch therefore return to the same instruction and the prediction
 * holds. A `pop; jmp` would leave that call's RSB entry unbalanced and make
 * every later `ret` on the resumed stack mispredict.
 *
 * The psABI makes the control bits of MXCSR and the x87 control word
 * callee-saved, so they travel with the context. Reloading them is slow
 * (ldmxcsr/fldcw serialise parts of the FP pipeline), so they are reloaded
 * only when the incoming context's values differ from the outgoing ones,
 * which in practice is never.
 */

        .text

/*
 * uintptr_t gort_swap(uintptr_t *save_sp, uintptr_t resume_sp, uintptr_t handoff)
 *   rdi  where to store the outgoing context's stack pointer
 *   rsi  the stack pointer of the context to resume
 *   rdx  handed to the resumed context as the return value of *its*
 *        gort_swap call (or in rax on a goroutine's first entry)
 * Clobbers rax, rcx and flags; every callee-saved register arrives intact.
 */
        .globl  gort_swap
        .hidden gort_swap
        .type   gort_swap, @function
        .p2align 5
gort_swap:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbx, 0
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r15, 0
        pushq   $0
        .cfi_adjust_cfa_offset 8
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        /* Reload the outgoing values with loads of the same width as the
         * stores above, so they forward from the store buffer. */
        movl    (%rsp), %eax
        movzwl  4(%rsp), %ecx
        movq    %rsp, (%rdi)
        /* From here on we are on the other context's stack. Its frame has
         * the same shape, so the CFI above still describes it. */
        movq    %rsi, %rsp
        cmpl    (%rsp), %eax
        jne     2f
        cmpw    4(%rsp), %cx
        jne     2f
1:
        .cfi_remember_state
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %r15
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r15
        popq    %r14
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r14
        popq    %r13
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r13
        popq    %r12
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r12
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbx
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbp
        movq    %rdx, %rax
        ret
2:
        .cfi_restore_state
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        jmp     1b
        .cfi_endproc
        .size   gort_swap, .-gort_swap

/*
 * gort_gostart: the bottom frame of every goroutine.
 *
 * Entered by the `ret` of the gort_swap that first resumes a new goroutine,
 * with the registers that src/arch.rs seeded in its initial frame:
 *   rax  the M now running us (gort_swap's handoff value)
 *   rbx  the G            r12  start function      r13  its argument
 *   r14  entry hook: void hook(M *m, G *gp), finishes the switch
 *   r15  exit hook:  void hook(void), never returns
 *   rbp  0, so frame-pointer unwinders stop here as well
 *   rsp  16-byte aligned
 *
 * The return address column is undefined: a debugger's backtrace of a
 * goroutine ends cleanly here, right below its start function, instead of
 * wandering into whatever the stack held before.
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
        call    *%r14
        movq    %r13, %rdi
        call    *%r12
        call    *%r15
        ud2
        .cfi_endproc
        .size   gort_gostart, .-gort_gostart

        .section .note.GNU-stack,"",@progbits
