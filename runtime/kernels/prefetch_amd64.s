#include "textflag.h"

// func prefetchLines(p *byte, n int)
// PREFETCHT0 of the n cache lines from p on.
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	TESTQ CX, CX
	JE pfdone

pfloop:
	PREFETCHT0 (SI)
	ADDQ $64, SI
	DECQ CX
	JNZ pfloop

pfdone:
	RET
