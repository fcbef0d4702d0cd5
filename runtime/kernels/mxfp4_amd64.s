#include "textflag.h"

// MXFP4 row kernels (AVX-512 F only: VEXTRACTF64X4 rather than DQ's
// VEXTRACTF32X8). The 16 e2m1 codes index a 16-float table with VPERMPS,
// which reads only the low 4 bits of each dword index: widening the 16 code
// bytes of a block to dwords (VPMOVZXBD) gives the low nibbles (elements
// 0–15) without masking, and one VPSRLD $4 gives the high ones (16–31). No
// int→float conversion, no byte shuffles: 4 decode uops and 3 float uops per
// 32 weights, against 11 in the VPSHUFB/VPMOVSXBD/VCVTDQ2PS kernel of
// simd512_amd64.s.

// The e2m1 code points doubled (kvalues_mxfp4) as float32; code 8 (−0) is +0
// as in the portable decoder (float32(int8(0))).
DATA mxfp4f32<>+0(SB)/4, $0x00000000
DATA mxfp4f32<>+4(SB)/4, $0x3f800000
DATA mxfp4f32<>+8(SB)/4, $0x40000000
DATA mxfp4f32<>+12(SB)/4, $0x40400000
DATA mxfp4f32<>+16(SB)/4, $0x40800000
DATA mxfp4f32<>+20(SB)/4, $0x40c00000
DATA mxfp4f32<>+24(SB)/4, $0x41000000
DATA mxfp4f32<>+28(SB)/4, $0x41400000
DATA mxfp4f32<>+32(SB)/4, $0x00000000
DATA mxfp4f32<>+36(SB)/4, $0xbf800000
DATA mxfp4f32<>+40(SB)/4, $0xc0000000
DATA mxfp4f32<>+44(SB)/4, $0xc0400000
DATA mxfp4f32<>+48(SB)/4, $0xc0800000
DATA mxfp4f32<>+52(SB)/4, $0xc0c00000
DATA mxfp4f32<>+56(SB)/4, $0xc1000000
DATA mxfp4f32<>+60(SB)/4, $0xc1400000
GLOBL mxfp4f32<>(SB), RODATA|NOPTR, $64

// MXBLOCK: one block of one row. SADDR is its scale byte, CADDR its 16 code
// bytes; x[0:16] in Z28, x[16:32] in Z29, the table in Z30, the scale table
// at R8. Adds scale·Σ value·x into ACC. R is a scratch GPR; T0–T2 scratch zmm.
#define MXBLOCK(SADDR, CADDR, R, T0, T1, T2, ACC) \
	MOVBLZX SADDR, R \
	VPMOVZXBD CADDR, T1 \
	VBROADCASTSS (R8)(R*4), T0 \
	VPSRLD $4, T1, T2 \
	VPERMPS Z30, T1, T1 \
	VPERMPS Z30, T2, T2 \
	VMULPS Z28, T1, T1 \
	VFMADD231PS Z29, T2, T1 \
	VFMADD231PS T0, T1, ACC

// MXSCALED: decodes one block (scale byte at SADDR, codes at CADDR) into
// T1 (elements 0–15) and T2 (16–31) as scale·code: the table scaled into T0
// and looked up. R is a scratch GPR.
#define MXSCALED(SADDR, CADDR, R, T0, T1, T2) \
	MOVBLZX SADDR, R \
	VPMOVZXBD CADDR, T1 \
	VMULPS.BCST (R8)(R*4), Z30, T0 \
	VPSRLD $4, T1, T2 \
	VPERMPS T0, T1, T1 \
	VPERMPS T0, T2, T2

// HSUM4: Y0–Y3 hold 8-lane sums of four rows; X0 gets the four totals.
// Clobbers Y4, X5.
#define HSUM4 \
	VHADDPS Y1, Y0, Y0 \
	VHADDPS Y3, Y2, Y2 \
	VHADDPS Y2, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X5 \
	VADDPS X5, X0, X0

// func mxfp4Dot4AVX512(w *byte, stride int, x *float32, nblk int, scales *[256]float32, out *[4]float32)
// Four rows, stride bytes apart, of nblk blocks each, times x (32·nblk
// floats): out[k] = row k · x. The x loads and the loop are shared by the
// rows, and the four accumulators are independent chains. R12 walks the
// next four rows (68 bytes a block) ahead of use: the rows are contiguous, so
// only one of the four streams of the next pass continues one of this pass,
// and the hardware prefetcher would miss the start of the other three
// (1 GiB MatVec, one thread: 5.5 → 9.2 GB/s). Prefetches never fault, so
// running past the matrix is harmless.
TEXT ·mxfp4Dot4AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ stride+8(FP), R9
	MOVQ x+16(FP), DI
	MOVQ nblk+24(FP), CX
	MOVQ scales+32(FP), R8
	LEAQ (R9)(R9*2), R10
	LEAQ (SI)(R9*4), R12
	VMOVUPS mxfp4f32<>(SB), Z30
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	TESTQ CX, CX
	JE m4done

m4loop:
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ $68, R12
	VMOVUPS (DI), Z28
	VMOVUPS 64(DI), Z29
	MXBLOCK((SI), 1(SI), AX, Z4, Z5, Z6, Z0)
	MXBLOCK((SI)(R9*1), 1(SI)(R9*1), BX, Z7, Z8, Z9, Z1)
	MXBLOCK((SI)(R9*2), 1(SI)(R9*2), DX, Z10, Z11, Z12, Z2)
	MXBLOCK((SI)(R10*1), 1(SI)(R10*1), R11, Z13, Z14, Z15, Z3)
	ADDQ $17, SI
	ADDQ $128, DI
	DECQ CX
	JNZ m4loop

m4done:
	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS Y4, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y4
	VADDPS Y4, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y4
	VADDPS Y4, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y4
	VADDPS Y4, Y3, Y3
	HSUM4
	MOVQ out+40(FP), AX
	VMOVUPS X0, (AX)
	VZEROUPPER
	RET

// func mxfp4Dot1AVX512(w *byte, x *float32, nblk int, scales *[256]float32) float32
// One row, four blocks a pass (prefetching 2 KB ahead: a lone stream
// consumed this slowly is not prefetched far enough by the hardware, 2880×2880
// 11.1 → 12.9 GB/s): each block scales the table (exact: a power of
// two times a code), looks its 32 weights up and multiply-adds them into its
// own pair of accumulators, so no FMA chain carries more than one FMA a pass.
TEXT ·mxfp4Dot1AVX512(SB), NOSPLIT, $0-36
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nblk+16(FP), CX
	MOVQ scales+24(FP), R8
	VMOVUPS mxfp4f32<>(SB), Z30
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

m1quad:
	CMPQ CX, $4
	JLT m1tail
	PREFETCHT0 2048(SI)
	PREFETCHT0 2112(SI)
	MXSCALED((SI), 1(SI), AX, Z4, Z5, Z6)
	VFMADD231PS (DI), Z5, Z0
	VFMADD231PS 64(DI), Z6, Z1
	MXSCALED(17(SI), 18(SI), BX, Z7, Z8, Z9)
	VFMADD231PS 128(DI), Z8, Z2
	VFMADD231PS 192(DI), Z9, Z3
	MXSCALED(34(SI), 35(SI), DX, Z10, Z11, Z12)
	VFMADD231PS 256(DI), Z11, Z0
	VFMADD231PS 320(DI), Z12, Z1
	MXSCALED(51(SI), 52(SI), R11, Z13, Z14, Z15)
	VFMADD231PS 384(DI), Z14, Z2
	VFMADD231PS 448(DI), Z15, Z3
	ADDQ $68, SI
	ADDQ $512, DI
	SUBQ $4, CX
	JMP m1quad

m1tail:
	TESTQ CX, CX
	JE m1done
	MXSCALED((SI), 1(SI), AX, Z4, Z5, Z6)
	VFMADD231PS (DI), Z5, Z0
	VFMADD231PS 64(DI), Z6, Z1
	ADDQ $17, SI
	ADDQ $128, DI
	DECQ CX
	JMP m1tail

m1done:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+32(FP)
	RET

// func mxfp4Dot1x4AVX512(w *byte, x *float32, xstride int, nblk int, scales *[256]float32, out *[4]float32)
// One row times four activation rows (xstride bytes apart): out[t] = row ·
// x_t. The row is decoded once for the four tokens: the table is scaled by
// the block scale (exact: a power of two times a code, the same product as
// the portable decoder's), looked up, and multiply-added into every token's
// sums; low and high halves go to separate accumulators so that each chain
// takes one FMA per block. Prefetches 1 KB ahead of the row stream (n=4 on
// 2880×2880: 0.81 → 0.74 ms).
TEXT ·mxfp4Dot1x4AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ xstride+16(FP), R9
	MOVQ nblk+24(FP), CX
	MOVQ scales+32(FP), R8
	LEAQ (R9)(R9*2), R10
	VMOVUPS mxfp4f32<>(SB), Z30
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	TESTQ CX, CX
	JE t4done

t4loop:
	PREFETCHT0 1024(SI)
	MOVBLZX (SI), AX
	VPMOVZXBD 1(SI), Z5
	VMULPS.BCST (R8)(AX*4), Z30, Z4
	VPSRLD $4, Z5, Z6
	VPERMPS Z4, Z5, Z5
	VPERMPS Z4, Z6, Z6
	VFMADD231PS (DI), Z5, Z0
	VFMADD231PS 64(DI), Z6, Z8
	VFMADD231PS (DI)(R9*1), Z5, Z1
	VFMADD231PS 64(DI)(R9*1), Z6, Z9
	VFMADD231PS (DI)(R9*2), Z5, Z2
	VFMADD231PS 64(DI)(R9*2), Z6, Z10
	VFMADD231PS (DI)(R10*1), Z5, Z3
	VFMADD231PS 64(DI)(R10*1), Z6, Z11
	ADDQ $17, SI
	ADDQ $128, DI
	DECQ CX
	JNZ t4loop

t4done:
	VADDPS Z8, Z0, Z0
	VADDPS Z9, Z1, Z1
	VADDPS Z10, Z2, Z2
	VADDPS Z11, Z3, Z3
	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS Y4, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y4
	VADDPS Y4, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y4
	VADDPS Y4, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y4
	VADDPS Y4, Y3, Y3
	HSUM4
	MOVQ out+40(FP), AX
	VMOVUPS X0, (AX)
	VZEROUPPER
	RET

// func dequantMXFP4AVX512(dst *float32, w *byte, nblk int, scales *[256]float32)
// Decodes nblk blocks into 32·nblk floats: the scaled table looked up, the
// same products scale·code as the portable decoder.
TEXT ·dequantMXFP4AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ nblk+16(FP), CX
	MOVQ scales+24(FP), R8
	VMOVUPS mxfp4f32<>(SB), Z30
	TESTQ CX, CX
	JE dqdone

dqloop:
	MOVBLZX (SI), AX
	VPMOVZXBD 1(SI), Z5
	VMULPS.BCST (R8)(AX*4), Z30, Z4
	VPSRLD $4, Z5, Z6
	VPERMPS Z4, Z5, Z5
	VPERMPS Z4, Z6, Z6
	VMOVUPS Z5, (DI)
	VMOVUPS Z6, 64(DI)
	ADDQ $17, SI
	ADDQ $128, DI
	DECQ CX
	JNZ dqloop

dqdone:
	VZEROUPPER
	RET
