#include "textflag.h"

DATA q4knib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4knib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4knib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4knib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q4knib<>(SB), RODATA|NOPTR, $32

// PARTIAL32U: Y holds 32 unsigned bytes; Y8 = 8-lane partial sums of
// byte_l·x[OFF+l] over the 32 floats at DI+OFF. Clobbers Y3, Y4, X10.
#define PARTIAL32U(Y, X, OFF) \
	VEXTRACTI128 $1, Y, X10 \
	VPMOVZXBD X, Y3 \
	VPSRLDQ $8, X, X4 \
	VPMOVZXBD X4, Y4 \
	VCVTDQ2PS Y3, Y3 \
	VCVTDQ2PS Y4, Y4 \
	VMULPS OFF(DI), Y3, Y8 \
	VFMADD231PS OFF+32(DI), Y4, Y8 \
	VPMOVZXBD X10, Y3 \
	VPSRLDQ $8, X10, X4 \
	VPMOVZXBD X4, Y4 \
	VCVTDQ2PS Y3, Y3 \
	VCVTDQ2PS Y4, Y4 \
	VFMADD231PS OFF+64(DI), Y3, Y8 \
	VFMADD231PS OFF+96(DI), Y4, Y8

// PAIR: sub-blocks 2J and 2J+1 of the super-block at SI (32 bytes of q at
// 16+32J), x at DI + 256J bytes, scales d·sc at 0(SP)..28(SP).
#define PAIR(QOFF, XOFF, S0, S1) \
	VMOVDQU QOFF(SI), Y1 \
	VPSRLW $4, Y1, Y2 \
	VPAND Y7, Y1, Y1 \
	VPAND Y7, Y2, Y2 \
	PARTIAL32U(Y1, X1, XOFF) \
	VBROADCASTSS S0(SP), Y13 \
	VFMADD231PS Y13, Y8, Y0 \
	PARTIAL32U(Y2, X2, XOFF+128) \
	VBROADCASTSS S1(SP), Y13 \
	VFMADD231PS Y13, Y8, Y0

// func dotQ4KRowAVX2(row []byte, x []float32, xsum *float32) float32
// A whole Q4_K row: the 6-bit scales and mins are unpacked with integer ops
// (ggml's layout), Σ d·sc_j·(q_j·x_j) accumulates in Y0 and Σ dmin·m_j·Σx_j
// in Y14 (xsum: Σx per 32 elements), one horizontal sum per row.
TEXT ·dotQ4KRowAVX2(SB), NOSPLIT, $32-60
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	MOVQ xsum+48(FP), R8
	SHRQ $8, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y14, Y14, Y14
	VMOVDQU q4knib<>(SB), Y7
	TESTQ CX, CX
	JE q4kdone

q4kblock:
	// d and dmin
	VMOVD (SI), X9
	VCVTPH2PS X9, X9
	VMOVSHDUP X9, X10
	VBROADCASTSS X9, Y9
	VBROADCASTSS X10, Y10
	// scales (sc) and mins (m), 8 bytes each
	MOVQ 4(SI), AX
	MOVL 12(SI), BX
	MOVL AX, R9
	MOVQ AX, R10
	SHRQ $32, R10
	MOVL R9, R11
	ANDL $0x3f3f3f3f, R11
	MOVL BX, DX
	ANDL $0x0f0f0f0f, DX
	MOVL R9, R13
	SHRL $6, R13
	ANDL $0x03030303, R13
	SHLL $4, R13
	ORL R13, DX
	SHLQ $32, DX
	ORQ DX, R11
	MOVL R10, R12
	ANDL $0x3f3f3f3f, R12
	MOVL BX, DX
	SHRL $4, DX
	ANDL $0x0f0f0f0f, DX
	MOVL R10, R13
	SHRL $6, R13
	ANDL $0x03030303, R13
	SHLL $4, R13
	ORL R13, DX
	SHLQ $32, DX
	ORQ DX, R12
	VMOVQ R11, X11
	VPMOVZXBD X11, Y11
	VCVTDQ2PS Y11, Y11
	VMULPS Y9, Y11, Y11
	VMOVUPS Y11, 0(SP)
	VMOVQ R12, X12
	VPMOVZXBD X12, Y12
	VCVTDQ2PS Y12, Y12
	VMULPS Y10, Y12, Y12
	VFMADD231PS (R8), Y12, Y14
	PAIR(16, 0, 0, 4)
	PAIR(48, 256, 8, 12)
	PAIR(80, 512, 16, 20)
	PAIR(112, 768, 24, 28)
	ADDQ $144, SI
	ADDQ $1024, DI
	ADDQ $32, R8
	DECQ CX
	JNZ q4kblock

q4kdone:
	VSUBPS Y14, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET
