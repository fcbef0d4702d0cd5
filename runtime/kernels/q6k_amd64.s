#include "textflag.h"

DATA q6knib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q6knib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q6knib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q6knib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q6knib<>(SB), RODATA|NOPTR, $32

DATA q6k03<>+0(SB)/8, $0x0303030303030303
DATA q6k03<>+8(SB)/8, $0x0303030303030303
DATA q6k03<>+16(SB)/8, $0x0303030303030303
DATA q6k03<>+24(SB)/8, $0x0303030303030303
GLOBL q6k03<>(SB), RODATA|NOPTR, $32

DATA q6k32<>+0(SB)/8, $0x2020202020202020
DATA q6k32<>+8(SB)/8, $0x2020202020202020
DATA q6k32<>+16(SB)/8, $0x2020202020202020
DATA q6k32<>+24(SB)/8, $0x2020202020202020
GLOBL q6k32<>(SB), RODATA|NOPTR, $32

// HALF16: X holds 16 signed values; Y0 += scale(S(SP)) · Σ value·x over the
// 16 floats at DI+OFF (8-lane partial sums, no horizontal sum).
#define HALF16(X, OFF, S) \
	VPMOVSXBD X, Y3 \
	VPSRLDQ $8, X, X4 \
	VPMOVSXBD X4, Y4 \
	VCVTDQ2PS Y3, Y3 \
	VCVTDQ2PS Y4, Y4 \
	VMULPS OFF(DI), Y3, Y8 \
	VFMADD231PS OFF+32(DI), Y4, Y8 \
	VBROADCASTSS S(SP), Y13 \
	VFMADD231PS Y13, Y8, Y0

// QUAD32: Y1 holds 32 signed values (two sub-blocks of 16).
#define QUAD32(OFF, S0, S1) \
	VEXTRACTI128 $1, Y1, X10 \
	HALF16(X1, OFF, S0) \
	HALF16(X10, OFF+64, S1)

// Q6HALF: one 128-element half of a super-block: ql at SI+QL (64 bytes),
// qh at SI+QH (32 bytes), x at DI+XO, scales at S..S+28 of the stack.
#define Q6HALF(QL, QH, XO, S) \
	VMOVDQU QL(SI), Y5 \
	VMOVDQU QL+32(SI), Y6 \
	VMOVDQU QH(SI), Y9 \
	VPAND Y7, Y5, Y1 \
	VPAND Y11, Y9, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	VPSUBB Y12, Y1, Y1 \
	QUAD32(XO, S, S+4) \
	VPAND Y7, Y6, Y1 \
	VPSRLW $2, Y9, Y2 \
	VPAND Y11, Y2, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	VPSUBB Y12, Y1, Y1 \
	QUAD32(XO+128, S+8, S+12) \
	VPSRLW $4, Y5, Y1 \
	VPAND Y7, Y1, Y1 \
	VPSRLW $4, Y9, Y2 \
	VPAND Y11, Y2, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	VPSUBB Y12, Y1, Y1 \
	QUAD32(XO+256, S+16, S+20) \
	VPSRLW $4, Y6, Y1 \
	VPAND Y7, Y1, Y1 \
	VPSRLW $6, Y9, Y2 \
	VPAND Y11, Y2, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	VPSUBB Y12, Y1, Y1 \
	QUAD32(XO+384, S+24, S+28)

// func dotQ6KRowAVX2(row []byte, x []float32) float32
// A whole Q6_K row (ql[128], qh[64], int8 scales[16], fp16 d per 256):
// d·scale_i is formed in SIMD and kept on the stack for the broadcasts.
TEXT ·dotQ6KRowAVX2(SB), NOSPLIT, $64-52
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	SHRQ $8, CX
	VXORPS Y0, Y0, Y0
	VMOVDQU q6knib<>(SB), Y7
	VMOVDQU q6k03<>(SB), Y11
	VMOVDQU q6k32<>(SB), Y12
	TESTQ CX, CX
	JE q6kdone

q6kblock:
	MOVWLZX 208(SI), AX
	VMOVD AX, X14
	VCVTPH2PS X14, X14
	VBROADCASTSS X14, Y14
	VPMOVSXBD 192(SI), Y15
	VCVTDQ2PS Y15, Y15
	VMULPS Y14, Y15, Y15
	VMOVUPS Y15, 0(SP)
	VPMOVSXBD 200(SI), Y15
	VCVTDQ2PS Y15, Y15
	VMULPS Y14, Y15, Y15
	VMOVUPS Y15, 32(SP)
	Q6HALF(0, 128, 0, 0)
	Q6HALF(64, 160, 512, 32)
	ADDQ $210, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ q6kblock

q6kdone:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// SHALF16: X holds 16 signed values; store scale(S(SP))·value to the 16
// floats at DI+OFF.
#define SHALF16(X, OFF, S) \
	VPMOVSXBD X, Y3 \
	VPSRLDQ $8, X, X4 \
	VPMOVSXBD X4, Y4 \
	VCVTDQ2PS Y3, Y3 \
	VCVTDQ2PS Y4, Y4 \
	VBROADCASTSS S(SP), Y13 \
	VMULPS Y13, Y3, Y3 \
	VMULPS Y13, Y4, Y4 \
	VMOVUPS Y3, OFF(DI) \
	VMOVUPS Y4, OFF+32(DI)

#define SQUAD32(OFF, S0, S1) \
	VEXTRACTI128 $1, Y1, X10 \
	SHALF16(X1, OFF, S0) \
	SHALF16(X10, OFF+64, S1)

#define S6HALF(QL, QH, XO, S) \
	VMOVDQU QL(SI), Y5 \
	VMOVDQU QL+32(SI), Y6 \
	VMOVDQU QH(SI), Y9 \
	VPAND Y7, Y5, Y1 \
	VPAND Y11, Y9, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	VPSUBB Y12, Y1, Y1 \
	SQUAD32(XO, S, S+4) \
	VPAND Y7, Y6, Y1 \
	VPSRLW $2, Y9, Y2 \
	VPAND Y11, Y2, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	VPSUBB Y12, Y1, Y1 \
	SQUAD32(XO+128, S+8, S+12) \
	VPSRLW $4, Y5, Y1 \
	VPAND Y7, Y1, Y1 \
	VPSRLW $4, Y9, Y2 \
	VPAND Y11, Y2, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	VPSUBB Y12, Y1, Y1 \
	SQUAD32(XO+256, S+16, S+20) \
	VPSRLW $4, Y6, Y1 \
	VPAND Y7, Y1, Y1 \
	VPSRLW $6, Y9, Y2 \
	VPAND Y11, Y2, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	VPSUBB Y12, Y1, Y1 \
	SQUAD32(XO+384, S+24, S+28)

// func dequantQ6KAVX2(dst []float32, row []byte)
// Decodes whole Q6_K super-blocks: value = (d·scale_i)·(q − 32). d·scale_i
// is rounded once and multiplies q, as ggml's d·scale·q left to right.
TEXT ·dequantQ6KAVX2(SB), NOSPLIT, $64-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ row_base+24(FP), SI
	SHRQ $8, CX
	VMOVDQU q6knib<>(SB), Y7
	VMOVDQU q6k03<>(SB), Y11
	VMOVDQU q6k32<>(SB), Y12
	TESTQ CX, CX
	JE dq6done

dq6block:
	MOVWLZX 208(SI), AX
	VMOVD AX, X14
	VCVTPH2PS X14, X14
	VBROADCASTSS X14, Y14
	VPMOVSXBD 192(SI), Y15
	VCVTDQ2PS Y15, Y15
	VMULPS Y14, Y15, Y15
	VMOVUPS Y15, 0(SP)
	VPMOVSXBD 200(SI), Y15
	VCVTDQ2PS Y15, Y15
	VMULPS Y14, Y15, Y15
	VMOVUPS Y15, 32(SP)
	S6HALF(0, 128, 0, 0)
	S6HALF(64, 160, 512, 32)
	ADDQ $210, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ dq6block

dq6done:
	VZEROUPPER
	RET

// func dequantBF16AVX2(dst []float32, row []byte)
// len(dst) a multiple of 8.
TEXT ·dequantBF16AVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ row_base+24(FP), SI
	SHRQ $3, CX
	TESTQ CX, CX
	JE dbfdone

dbfloop:
	VPMOVZXWD (SI), Y1
	VPSLLD $16, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNZ dbfloop

dbfdone:
	VZEROUPPER
	RET
