#include "textflag.h"

// AVX-512 (F, BW, VL) versions of the hottest fused kernels: 16 floats per
// register halves the convert/FMA count of the AVX2 ones.

DATA nibmask512<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibmask512<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nibmask512<>(SB), RODATA|NOPTR, $16

DATA mxfp4lut512<>+0(SB)/8, $0x0c08060403020100
DATA mxfp4lut512<>+8(SB)/8, $0xf4f8fafcfdfeff00
GLOBL mxfp4lut512<>(SB), RODATA|NOPTR, $16

DATA q40lut512<>+0(SB)/8, $0xfffefdfcfbfaf9f8
DATA q40lut512<>+8(SB)/8, $0x0706050403020100
GLOBL q40lut512<>(SB), RODATA|NOPTR, $16

// HSUM512: reduce Z (X is its low 128 bits, Y its low 256) into X's lane 0.
#define HSUM512(Z, Y, X, TY, TX) \
	VEXTRACTF32X8 $1, Z, TY \
	VADDPS TY, Y, Y \
	VEXTRACTF128 $1, Y, TX \
	VADDPS TX, X, X \
	VHADDPS X, X, X \
	VHADDPS X, X, X

// func dotF32AVX512(a, b []float32) float32
TEXT ·dotF32AVX512(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

loop64:
	CMPQ CX, $64
	JL   loop16
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  loop64

loop16:
	CMPQ CX, $16
	JL   reduce
	VMOVUPS (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop16

reduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUM512(Z0, Y0, X0, Y1, X1)

tail:
	TESTQ CX, CX
	JE    done
	VMOVSS (SI), X4
	VFMADD231SS (DI), X4, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail

done:
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func dotF16AVX512(row []byte, x []float32) float32
// x length a multiple of 32.
TEXT ·dotF16AVX512(SB), NOSPLIT, $0-52
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	SHRQ $5, CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	TESTQ CX, CX
	JE f16done

f16loop:
	VCVTPH2PS (SI), Z2
	VCVTPH2PS 32(SI), Z3
	VFMADD231PS (DI), Z2, Z0
	VFMADD231PS 64(DI), Z3, Z1
	ADDQ $64, SI
	ADDQ $128, DI
	DECQ CX
	JNZ f16loop

f16done:
	VADDPS Z1, Z0, Z0
	HSUM512(Z0, Y0, X0, Y1, X1)
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func dotQ8_0AVX512(row []byte, x []float32) float32
TEXT ·dotQ8_0AVX512(SB), NOSPLIT, $0-52
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	SHRQ $5, CX
	VXORPS Z0, Z0, Z0
	TESTQ CX, CX
	JE q8done

q8block:
	MOVWLZX (SI), AX
	VMOVD AX, X5
	VCVTPH2PS X5, X5
	VBROADCASTSS X5, Z5
	VPMOVSXBD 2(SI), Z1
	VPMOVSXBD 18(SI), Z2
	VCVTDQ2PS Z1, Z1
	VCVTDQ2PS Z2, Z2
	VMULPS (DI), Z1, Z1
	VFMADD231PS 64(DI), Z2, Z1
	VFMADD231PS Z5, Z1, Z0
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNZ q8block

q8done:
	HSUM512(Z0, Y0, X0, Y1, X1)
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// NIBBLE512: X1 holds the 16 packed bytes of a block; table X6, mask X7.
// Accumulates scale Z5 · Σ value·x (x: 32 floats at DI) into Z0.
#define NIBBLE512 \
	VPSRLW $4, X1, X2 \
	VPAND X7, X1, X1 \
	VPAND X7, X2, X2 \
	VPSHUFB X1, X6, X1 \
	VPSHUFB X2, X6, X2 \
	VPMOVSXBD X1, Z1 \
	VPMOVSXBD X2, Z2 \
	VCVTDQ2PS Z1, Z1 \
	VCVTDQ2PS Z2, Z2 \
	VMULPS (DI), Z1, Z1 \
	VFMADD231PS 64(DI), Z2, Z1 \
	VFMADD231PS Z5, Z1, Z0

// func dotMXFP4AVX512(row []byte, x []float32, scales *[256]float32) float32
TEXT ·dotMXFP4AVX512(SB), NOSPLIT, $0-60
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	MOVQ scales+48(FP), R8
	SHRQ $5, CX
	VXORPS Z0, Z0, Z0
	VMOVDQU nibmask512<>(SB), X7
	VMOVDQU mxfp4lut512<>(SB), X6
	TESTQ CX, CX
	JE mxdone

mxblock:
	MOVBLZX (SI), AX
	VBROADCASTSS (R8)(AX*4), Z5
	VMOVDQU 1(SI), X1
	NIBBLE512
	ADDQ $17, SI
	ADDQ $128, DI
	DECQ CX
	JNZ mxblock

mxdone:
	HSUM512(Z0, Y0, X0, Y1, X1)
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// func dotQ4_0AVX512(row []byte, x []float32) float32
TEXT ·dotQ4_0AVX512(SB), NOSPLIT, $0-52
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	SHRQ $5, CX
	VXORPS Z0, Z0, Z0
	VMOVDQU nibmask512<>(SB), X7
	VMOVDQU q40lut512<>(SB), X6
	TESTQ CX, CX
	JE q4done

q4block:
	MOVWLZX (SI), AX
	VMOVD AX, X5
	VCVTPH2PS X5, X5
	VBROADCASTSS X5, Z5
	VMOVDQU 2(SI), X1
	NIBBLE512
	ADDQ $18, SI
	ADDQ $128, DI
	DECQ CX
	JNZ q4block

q4done:
	HSUM512(Z0, Y0, X0, Y1, X1)
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET
