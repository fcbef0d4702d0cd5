#include "textflag.h"

// Constants: nibble mask, the two 4-bit code tables, bit masks for the high bits.
DATA nibmask<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibmask<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibmask<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibmask<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nibmask<>(SB), RODATA|NOPTR, $32

DATA bits01<>+0(SB)/8, $0x0101010101010101
DATA bits01<>+8(SB)/8, $0x0101010101010101
DATA bits01<>+16(SB)/8, $0x0101010101010101
DATA bits01<>+24(SB)/8, $0x0101010101010101
GLOBL bits01<>(SB), RODATA|NOPTR, $32

DATA bits02<>+0(SB)/8, $0x0202020202020202
DATA bits02<>+8(SB)/8, $0x0202020202020202
DATA bits02<>+16(SB)/8, $0x0202020202020202
DATA bits02<>+24(SB)/8, $0x0202020202020202
GLOBL bits02<>(SB), RODATA|NOPTR, $32

// MXFP4 codes doubled: 0 1 2 3 4 6 8 12, then the negatives.
DATA mxfp4lut<>+0(SB)/8, $0x0c08060403020100
DATA mxfp4lut<>+8(SB)/8, $0xf4f8fafcfdfeff00
GLOBL mxfp4lut<>(SB), RODATA|NOPTR, $16

// Q4_0 codes minus 8: -8 .. 7.
DATA q40lut<>+0(SB)/8, $0xfffefdfcfbfaf9f8
DATA q40lut<>+8(SB)/8, $0x0706050403020100
GLOBL q40lut<>(SB), RODATA|NOPTR, $16

// NIBBLEBLOCK: X1 holds 16 packed bytes; look both nibbles up in table X6
// (int8 values), multiply by x[0:32] at DI (low nibbles are elements 0–15,
// high nibbles 16–31) and accumulate scale Y5 · Σ into Y0.
#define NIBBLEBLOCK \
	VPSRLW $4, X1, X2 \
	VPAND X7, X1, X1 \
	VPAND X7, X2, X2 \
	VPSHUFB X1, X6, X1 \
	VPSHUFB X2, X6, X2 \
	VPSRLDQ $8, X1, X3 \
	VPSRLDQ $8, X2, X4 \
	VPMOVSXBD X1, Y1 \
	VPMOVSXBD X3, Y3 \
	VPMOVSXBD X2, Y2 \
	VPMOVSXBD X4, Y4 \
	VCVTDQ2PS Y1, Y1 \
	VCVTDQ2PS Y3, Y3 \
	VCVTDQ2PS Y2, Y2 \
	VCVTDQ2PS Y4, Y4 \
	VMULPS (DI), Y1, Y1 \
	VFMADD231PS 32(DI), Y3, Y1 \
	VFMADD231PS 64(DI), Y2, Y1 \
	VFMADD231PS 96(DI), Y4, Y1 \
	VFMADD231PS Y5, Y1, Y0

#define HSUM(Y, X, T) \
	VEXTRACTF128 $1, Y, T \
	VADDPS T, X, X \
	VHADDPS X, X, X \
	VHADDPS X, X, X

// func dotMXFP4AVX2(row []byte, x []float32, scales *[256]float32) float32
// Prefetches 1 KB ahead: the hardware does not prefetch a stream consumed at
// 17 bytes per block far enough (1 GiB MatVec, one thread: 2.8 → 6.1 GB/s).
TEXT ·dotMXFP4AVX2(SB), NOSPLIT, $0-60
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	MOVQ scales+48(FP), R8
	SHRQ $5, CX
	VXORPS Y0, Y0, Y0
	VMOVDQU nibmask<>(SB), X7
	VMOVDQU mxfp4lut<>(SB), X6
	TESTQ CX, CX
	JE mxdone

mxblock:
	PREFETCHT0 1024(SI)
	MOVBLZX (SI), AX
	VBROADCASTSS (R8)(AX*4), Y5
	VMOVDQU 1(SI), X1
	NIBBLEBLOCK
	ADDQ $17, SI
	ADDQ $128, DI
	DECQ CX
	JNZ mxblock

mxdone:
	HSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// func dotQ4_0AVX2(row []byte, x []float32) float32
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-52
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	SHRQ $5, CX
	VXORPS Y0, Y0, Y0
	VMOVDQU nibmask<>(SB), X7
	VMOVDQU q40lut<>(SB), X6
	TESTQ CX, CX
	JE q4done

q4block:
	MOVWLZX (SI), AX
	VMOVD AX, X5
	VCVTPH2PS X5, X5
	VBROADCASTSS X5, Y5
	VMOVDQU 2(SI), X1
	NIBBLEBLOCK
	ADDQ $18, SI
	ADDQ $128, DI
	DECQ CX
	JNZ q4block

q4done:
	HSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func dotBF16AVX2(row []byte, x []float32) float32
// bf16 → f32 is a 16-bit left shift of each value; x length a multiple of 8.
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-52
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	SHRQ $3, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JE bfdone

bfloop:
	VPMOVZXWD (SI), Y2
	VPSLLD $16, Y2, Y2
	VFMADD231PS (DI), Y2, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNZ bfloop

bfdone:
	HSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func dotF16AVX2(row []byte, x []float32) float32
// x length a multiple of 16: two 8-wide accumulators.
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-52
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	SHRQ $4, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JE f16done

f16loop:
	VCVTPH2PS (SI), Y2
	VCVTPH2PS 16(SI), Y3
	VFMADD231PS (DI), Y2, Y0
	VFMADD231PS 32(DI), Y3, Y1
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNZ f16loop

f16done:
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// NIBBLESTORE: like NIBBLEBLOCK but writes scale·value for the 32 elements
// of the block to DI instead of accumulating a dot product.
#define NIBBLESTORE \
	VPSRLW $4, X1, X2 \
	VPAND X7, X1, X1 \
	VPAND X7, X2, X2 \
	VPSHUFB X1, X6, X1 \
	VPSHUFB X2, X6, X2 \
	VPSRLDQ $8, X1, X3 \
	VPSRLDQ $8, X2, X4 \
	VPMOVSXBD X1, Y1 \
	VPMOVSXBD X3, Y3 \
	VPMOVSXBD X2, Y2 \
	VPMOVSXBD X4, Y4 \
	VCVTDQ2PS Y1, Y1 \
	VCVTDQ2PS Y3, Y3 \
	VCVTDQ2PS Y2, Y2 \
	VCVTDQ2PS Y4, Y4 \
	VMULPS Y5, Y1, Y1 \
	VMULPS Y5, Y3, Y3 \
	VMULPS Y5, Y2, Y2 \
	VMULPS Y5, Y4, Y4 \
	VMOVUPS Y1, (DI) \
	VMOVUPS Y3, 32(DI) \
	VMOVUPS Y2, 64(DI) \
	VMOVUPS Y4, 96(DI)

// func dequantMXFP4AVX2(dst []float32, row []byte, scales *[256]float32)
TEXT ·dequantMXFP4AVX2(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ row_base+24(FP), SI
	MOVQ scales+48(FP), R8
	SHRQ $5, CX
	VMOVDQU nibmask<>(SB), X7
	VMOVDQU mxfp4lut<>(SB), X6
	TESTQ CX, CX
	JE dmxdone

dmxblock:
	PREFETCHT0 1024(SI)
	MOVBLZX (SI), AX
	VBROADCASTSS (R8)(AX*4), Y5
	VMOVDQU 1(SI), X1
	NIBBLESTORE
	ADDQ $17, SI
	ADDQ $128, DI
	DECQ CX
	JNZ dmxblock

dmxdone:
	VZEROUPPER
	RET

// func dequantQ4_0AVX2(dst []float32, row []byte)
TEXT ·dequantQ4_0AVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ row_base+24(FP), SI
	SHRQ $5, CX
	VMOVDQU nibmask<>(SB), X7
	VMOVDQU q40lut<>(SB), X6
	TESTQ CX, CX
	JE dq4done

dq4block:
	MOVWLZX (SI), AX
	VMOVD AX, X5
	VCVTPH2PS X5, X5
	VBROADCASTSS X5, Y5
	VMOVDQU 2(SI), X1
	NIBBLESTORE
	ADDQ $18, SI
	ADDQ $128, DI
	DECQ CX
	JNZ dq4block

dq4done:
	VZEROUPPER
	RET

// func dequantQ8_0AVX2(dst []float32, row []byte)
TEXT ·dequantQ8_0AVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ row_base+24(FP), SI
	SHRQ $5, CX
	TESTQ CX, CX
	JE dq8done

dq8block:
	MOVWLZX (SI), AX
	VMOVD AX, X5
	VCVTPH2PS X5, X5
	VBROADCASTSS X5, Y5
	VPMOVSXBD 2(SI), Y1
	VPMOVSXBD 10(SI), Y2
	VPMOVSXBD 18(SI), Y3
	VPMOVSXBD 26(SI), Y4
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VMULPS Y5, Y1, Y1
	VMULPS Y5, Y2, Y2
	VMULPS Y5, Y3, Y3
	VMULPS Y5, Y4, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNZ dq8block

dq8done:
	VZEROUPPER
	RET

// STORE32U: Y holds 32 unsigned bytes; write (byte·D − M) to the 32 floats
// at DI+OFF, D and M broadcast from the float32s at DADDR and MADDR.
#define STORE32U(Y, X, OFF, DADDR, MADDR) \
	VBROADCASTSS DADDR, Y14 \
	VBROADCASTSS MADDR, Y15 \
	VEXTRACTI128 $1, Y, X10 \
	VPMOVZXBD X, Y3 \
	VPSRLDQ $8, X, X4 \
	VPMOVZXBD X4, Y4 \
	VCVTDQ2PS Y3, Y3 \
	VCVTDQ2PS Y4, Y4 \
	VFMSUB213PS Y15, Y14, Y3 \
	VFMSUB213PS Y15, Y14, Y4 \
	VMOVUPS Y3, OFF(DI) \
	VMOVUPS Y4, OFF+32(DI) \
	VPMOVZXBD X10, Y3 \
	VPSRLDQ $8, X10, X4 \
	VPMOVZXBD X4, Y4 \
	VCVTDQ2PS Y3, Y3 \
	VCVTDQ2PS Y4, Y4 \
	VFMSUB213PS Y15, Y14, Y3 \
	VFMSUB213PS Y15, Y14, Y4 \
	VMOVUPS Y3, OFF+64(DI) \
	VMOVUPS Y4, OFF+96(DI)

// func q4kDequantAVX2(q *byte, dst *float32, sc *[16]float32)
// One Q4_K super-block: sc[0:8] are d·scale_j, sc[8:16] dmin·min_j.
TEXT ·q4kDequantAVX2(SB), NOSPLIT, $0-24
	MOVQ q+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ sc+16(FP), R8
	VMOVDQU nibmask<>(SB), Y7
	MOVQ $4, CX

q4kdloop:
	VMOVDQU (SI), Y1
	VPSRLW $4, Y1, Y2
	VPAND Y7, Y1, Y1
	VPAND Y7, Y2, Y2
	STORE32U(Y1, X1, 0, (R8), 32(R8))
	STORE32U(Y2, X2, 128, 4(R8), 36(R8))
	ADDQ $32, SI
	ADDQ $256, DI
	ADDQ $8, R8
	DECQ CX
	JNZ q4kdloop
	VZEROUPPER
	RET

// func q5kDequantAVX2(ql, qh *byte, dst *float32, sc *[16]float32)
TEXT ·q5kDequantAVX2(SB), NOSPLIT, $0-32
	MOVQ ql+0(FP), SI
	MOVQ qh+8(FP), DX
	MOVQ dst+16(FP), DI
	MOVQ sc+24(FP), R8
	VMOVDQU nibmask<>(SB), Y7
	VMOVDQU bits01<>(SB), Y11
	VMOVDQU bits02<>(SB), Y12
	VMOVDQU (DX), Y6
	MOVQ $4, CX

q5kdloop:
	VMOVDQU (SI), Y1
	VPSRLW $4, Y1, Y2
	VPAND Y7, Y1, Y1
	VPAND Y7, Y2, Y2
	VPAND Y11, Y6, Y13
	VPSLLW $4, Y13, Y13
	VPOR Y13, Y1, Y1
	VPAND Y12, Y6, Y13
	VPSLLW $3, Y13, Y13
	VPOR Y13, Y2, Y2
	VPSRLW $2, Y6, Y6
	STORE32U(Y1, X1, 0, (R8), 32(R8))
	STORE32U(Y2, X2, 128, 4(R8), 36(R8))
	ADDQ $32, SI
	ADDQ $256, DI
	ADDQ $8, R8
	DECQ CX
	JNZ q5kdloop
	VZEROUPPER
	RET
