/* Functions of a known layout for the symbol tests (usyms.stp): each
 * instruction's size is fixed, so offsets do not depend on a compiler,
 * and the section is linked at a fixed address (-no-pie).  outer ends
 * the frame-pointer chain, so a backtrace in leaf is leaf, then outer.
 * (A uprobe on the syscall instruction would run it out of line, and the
 * kernel would see it made from the uprobes page.) */
	.section usyms_text, "ax", @progbits
	.globl outer
	.type outer, @function
outer:
	push %rbp
	xor %ebp, %ebp
	call mid
	pop %rbp
	ret
	.size outer, .-outer

	.type mid, @function
mid:
	push %rbp
	mov %rsp, %rbp
	call leaf
	pop %rbp
	ret
	.size mid, .-mid

	.type leaf, @function
leaf:
	mov $110, %eax /* getppid */
	nop            /* the probe, after the "prologue": not on the syscall */
	syscall
	ret
	.size leaf, .-leaf

	.section .note.GNU-stack, "", @progbits
