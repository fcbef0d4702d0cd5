#include "textflag.h"

// Q5_0 blocks (22 bytes): fp16 d, uint32 qh (the fifth bit of element j is
// bit j), 16 bytes of nibbles (element j low nibble, j+16 high nibble);
// value = (nibble | bit<<4) − 16.

DATA q5shuf<>+0(SB)/8, $0x0000000000000000
DATA q5shuf<>+8(SB)/8, $0x0101010101010101
DATA q5shuf<>+16(SB)/8, $0x0202020202020202
DATA q5shuf<>+24(SB)/8, $0x0303030303030303
GLOBL q5shuf<>(SB), RODATA|NOPTR, $32

DATA q5bits<>+0(SB)/8, $0x8040201008040201
DATA q5bits<>+8(SB)/8, $0x8040201008040201
DATA q5bits<>+16(SB)/8, $0x8040201008040201
DATA q5bits<>+24(SB)/8, $0x8040201008040201
GLOBL q5bits<>(SB), RODATA|NOPTR, $32

DATA q5sixteen<>+0(SB)/8, $0x1010101010101010
DATA q5sixteen<>+8(SB)/8, $0x1010101010101010
DATA q5sixteen<>+16(SB)/8, $0x1010101010101010
DATA q5sixteen<>+24(SB)/8, $0x1010101010101010
GLOBL q5sixteen<>(SB), RODATA|NOPTR, $32

DATA q5nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q5nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q5nib<>(SB), RODATA|NOPTR, $16

// Q5VALUES: block at SI → Y1..Y4 hold its 32 values as float32 (elements
// 0–7, 8–15, 16–23, 24–31 in Y1, Y3, Y2, Y4) and Y5 its scale.
// Uses X7 (nibble mask), Y9 (shuffle), Y10 (bit masks), Y11 (0x10 bytes).
#define Q5VALUES \
	MOVWLZX (SI), AX \
	VMOVD AX, X5 \
	VCVTPH2PS X5, X5 \
	VBROADCASTSS X5, Y5 \
	VPBROADCASTD 2(SI), Y8 \
	VPSHUFB Y9, Y8, Y8 \
	VPAND Y10, Y8, Y8 \
	VPCMPEQB Y10, Y8, Y8 \
	VPAND Y11, Y8, Y8 \
	VMOVDQU 6(SI), X1 \
	VPSRLW $4, X1, X2 \
	VPAND X7, X1, X1 \
	VPAND X7, X2, X2 \
	VINSERTI128 $1, X2, Y1, Y1 \
	VPOR Y8, Y1, Y1 \
	VPSUBB Y11, Y1, Y1 \
	VEXTRACTI128 $1, Y1, X2 \
	VPSRLDQ $8, X1, X3 \
	VPSRLDQ $8, X2, X4 \
	VPMOVSXBD X1, Y1 \
	VPMOVSXBD X3, Y3 \
	VPMOVSXBD X2, Y2 \
	VPMOVSXBD X4, Y4 \
	VCVTDQ2PS Y1, Y1 \
	VCVTDQ2PS Y3, Y3 \
	VCVTDQ2PS Y2, Y2 \
	VCVTDQ2PS Y4, Y4

#define Q5CONSTS \
	VMOVDQU q5nib<>(SB), X7 \
	VMOVDQU q5shuf<>(SB), Y9 \
	VMOVDQU q5bits<>(SB), Y10 \
	VMOVDQU q5sixteen<>(SB), Y11

// func dotQ5_0AVX2(row []byte, x []float32) float32
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-52
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	SHRQ $5, CX
	VXORPS Y0, Y0, Y0
	Q5CONSTS
	TESTQ CX, CX
	JE q5done

q5block:
	Q5VALUES
	VMULPS (DI), Y1, Y1
	VFMADD231PS 32(DI), Y3, Y1
	VFMADD231PS 64(DI), Y2, Y1
	VFMADD231PS 96(DI), Y4, Y1
	VFMADD231PS Y5, Y1, Y0
	ADDQ $22, SI
	ADDQ $128, DI
	DECQ CX
	JNZ q5block

q5done:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func dequantQ5_0AVX2(dst []float32, row []byte)
TEXT ·dequantQ5_0AVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ row_base+24(FP), SI
	SHRQ $5, CX
	Q5CONSTS
	TESTQ CX, CX
	JE dq5done

dq5block:
	Q5VALUES
	VMULPS Y5, Y1, Y1
	VMULPS Y5, Y3, Y3
	VMULPS Y5, Y2, Y2
	VMULPS Y5, Y4, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y3, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $22, SI
	ADDQ $128, DI
	DECQ CX
	JNZ dq5block

dq5done:
	VZEROUPPER
	RET
