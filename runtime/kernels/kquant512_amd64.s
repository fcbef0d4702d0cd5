#include "textflag.h"

// AVX-512 (F, BW and VL: what hasAVX512 checks) kernels for Q4_K, Q5_K and
// Q6_K: whole-row dot products (MatVec) and one row times four tokens
// (MatMul's few-token path, the row decoded once for the four). They
// follow the AVX2 ones (q4k_amd64.s, q6k_amd64.s) but decode 16 weights per
// instruction straight into dword lanes, with no lane extracts. Q4_K/Q5_K:
// VPMOVZXBD of 16 code bytes gives the low nibbles in the low 4 bits of
// each dword and one VPSRLD $4 the high ones; the code is then its own
// float by a VPERMPS lookup into 0..15 (VPERMPS reads only the low 4 bits of
// the index, so the low nibbles need no mask) or, for Q5_K, a VPERMI2PS
// lookup into 0..31 (5 index bits) after one VPTERNLOGD puts the fifth bit
// at bit 4; the lookup replaces the mask and the int→float conversion (a
// tenth faster than VPANDD+VCVTDQ2PS). Each 32-weight sub-block is a
// partial product chain and one FMA by its broadcast d·scale (embedded
// broadcast from the stack), into two accumulators; the mins term is
// dmin·m_j·Σx_j over the caller's Σx per 32, as in the AVX2 kernels.
// Q6_K: the signed 6-bit values are built 64 at a time in bytes, stored to
// the stack and widened 16 at a time by VPMOVSXBD from there, times the
// broadcast d·scale, into four accumulators. The four-token kernels look
// the codes up in tables already scaled (and shifted by the min), which
// gives the portable decoder's weights bit for bit.
// Every kernel prefetches the row 2 KB ahead, a super-block's lines per
// super-block (one thread, 512 MiB of Q4_K: 4.1 GB/s without, 7.7 with 1 KB,
// 8.5–9.0 with 2 KB, 7.8–8.1 with 4 KB); past the matrix end it is harmless.

DATA kq512c0f<>+0(SB)/4, $0x0000000f
GLOBL kq512c0f<>(SB), RODATA|NOPTR, $4

DATA kq512b0f<>+0(SB)/4, $0x0f0f0f0f
GLOBL kq512b0f<>(SB), RODATA|NOPTR, $4

DATA kq512b30<>+0(SB)/4, $0x30303030
GLOBL kq512b30<>(SB), RODATA|NOPTR, $4

DATA kq512b20<>+0(SB)/4, $0x20202020
GLOBL kq512b20<>(SB), RODATA|NOPTR, $4

// KUNPACK: unpacks the 6-bit scales and mins of the Q4_K/Q5_K super-block
// at SI (ggml's layout): Y11 = d·sc_j, Y12 = dmin·m_j. Clobbers AX, BX, DX,
// R9–R13, Y9, Y10.
#define KUNPACK \
	VMOVD (SI), X9 \
	VCVTPH2PS X9, X9 \
	VMOVSHDUP X9, X10 \
	VBROADCASTSS X9, Y9 \
	VBROADCASTSS X10, Y10 \
	MOVQ 4(SI), AX \
	MOVL 12(SI), BX \
	MOVL AX, R9 \
	MOVQ AX, R10 \
	SHRQ $32, R10 \
	MOVL R9, R11 \
	ANDL $0x3f3f3f3f, R11 \
	MOVL BX, DX \
	ANDL $0x0f0f0f0f, DX \
	MOVL R9, R13 \
	SHRL $6, R13 \
	ANDL $0x03030303, R13 \
	SHLL $4, R13 \
	ORL R13, DX \
	SHLQ $32, DX \
	ORQ DX, R11 \
	MOVL R10, R12 \
	ANDL $0x3f3f3f3f, R12 \
	MOVL BX, DX \
	SHRL $4, DX \
	ANDL $0x0f0f0f0f, DX \
	MOVL R10, R13 \
	SHRL $6, R13 \
	ANDL $0x03030303, R13 \
	SHLL $4, R13 \
	ORL R13, DX \
	SHLQ $32, DX \
	ORQ DX, R12 \
	VMOVQ R11, X11 \
	VPMOVZXBD X11, Y11 \
	VCVTDQ2PS Y11, Y11 \
	VMULPS Y9, Y11, Y11 \
	VMOVQ R12, X12 \
	VPMOVZXBD X12, Y12 \
	VCVTDQ2PS Y12, Y12 \
	VMULPS Y10, Y12, Y12

// KSCALES: KUNPACK, d·sc_j to 0(SP)..28(SP), and Y14 += dmin·m_j·Σx_j over
// the eight xsum entries at R8.
#define KSCALES \
	KUNPACK \
	VMOVUPS Y11, 0(SP) \
	VFMADD231PS (R8), Y12, Y14

// KFINISH: ret = Σ(Z0 + Z5) − Σ Y14.
#define KFINISH(RET) \
	VADDPS Z5, Z0, Z0 \
	VEXTRACTF64X4 $1, Z0, Y1 \
	VADDPS Y1, Y0, Y0 \
	VSUBPS Y14, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0 \
	VZEROUPPER \
	MOVSS X0, RET

// Q6HALF512: one 128-weight half of a Q6_K super-block (ql at SI+QL, 64
// bytes; qh at SI+QH, 32 bytes; x at DI+XO; d·scale at S(SP)...). The 128
// signed values are formed 64 at a time in bytes (Z1: weights 0–63 from the
// low nibbles, Z3: 64–127 from the high ones) and stored at B(SP), from
// where VPMOVSXBD widens 16 at a time without lane extracts.
#define Q6HALF512(QL, QH, XO, S, B) \
	VMOVDQU64 QL(SI), Z16 \
	VMOVDQU QH(SI), Y9 \
	VPSRLW $2, Y9, Y10 \
	VINSERTI64X4 $1, Y10, Z9, Z9 \
	VPANDD Z7, Z16, Z1 \
	VPSLLW $4, Z9, Z2 \
	VPTERNLOGD $0xf8, Z11, Z2, Z1 \
	VPSUBB Z12, Z1, Z1 \
	VMOVDQU64 Z1, B(SP) \
	VPSRLW $4, Z16, Z3 \
	VPANDD Z7, Z3, Z3 \
	VPTERNLOGD $0xf8, Z11, Z9, Z3 \
	VPSUBB Z12, Z3, Z3 \
	VMOVDQU64 Z3, B+64(SP) \
	Q6GROUP(B, XO, S, Z0) \
	Q6GROUP(B+16, XO+64, S+4, Z4) \
	Q6GROUP(B+32, XO+128, S+8, Z5) \
	Q6GROUP(B+48, XO+192, S+12, Z6) \
	Q6GROUP(B+64, XO+256, S+16, Z0) \
	Q6GROUP(B+80, XO+320, S+20, Z4) \
	Q6GROUP(B+96, XO+384, S+24, Z5) \
	Q6GROUP(B+112, XO+448, S+28, Z6)

// Q6GROUP: ACC += d·scale(S(SP)) · Σ q·x over the 16 values at B(SP).
#define Q6GROUP(B, XO, S, ACC) \
	VPMOVSXBD B(SP), Z13 \
	VCVTDQ2PS Z13, Z13 \
	VMULPS.BCST S(SP), Z13, Z13 \
	VFMADD231PS XO(DI), Z13, ACC

// func dotQ6KRowAVX512(row []byte, x []float32) float32
// A whole Q6_K row (ql[128], qh[64], int8 scales[16], fp16 d per 256).
// Stack: d·scale_i at 0..63, the signed values of each half at 64..191 and
// 192..319 (separate, so the second half does not wait on the first).
TEXT ·dotQ6KRowAVX512(SB), NOSPLIT, $320-52
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	SHRQ $8, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPBROADCASTD kq512b0f<>(SB), Z7
	VPBROADCASTD kq512b30<>(SB), Z11
	VPBROADCASTD kq512b20<>(SB), Z12
	TESTQ CX, CX
	JE q6k512done

q6k512block:
	PREFETCHT0 2048(SI)
	PREFETCHT0 2112(SI)
	PREFETCHT0 2176(SI)
	PREFETCHT0 2240(SI)
	MOVWLZX 208(SI), AX
	VMOVD AX, X14
	VCVTPH2PS X14, X14
	VBROADCASTSS X14, Z14
	VPMOVSXBD 192(SI), Z15
	VCVTDQ2PS Z15, Z15
	VMULPS Z14, Z15, Z15
	VMOVUPS Z15, 0(SP)
	Q6HALF512(0, 128, 0, 0, 64)
	Q6HALF512(64, 160, 512, 32, 192)
	ADDQ $210, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ q6k512block

q6k512done:
	VADDPS Z4, Z0, Z0
	VADDPS Z6, Z5, Z5
	VADDPS Z5, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// kq512f16 and kq512f32hi: the floats 0..15 and 16..31, the Q4_K/Q5_K
// codes as lookup tables.
DATA kq512f16<>+0(SB)/4, $0x00000000
DATA kq512f16<>+4(SB)/4, $0x3f800000
DATA kq512f16<>+8(SB)/4, $0x40000000
DATA kq512f16<>+12(SB)/4, $0x40400000
DATA kq512f16<>+16(SB)/4, $0x40800000
DATA kq512f16<>+20(SB)/4, $0x40a00000
DATA kq512f16<>+24(SB)/4, $0x40c00000
DATA kq512f16<>+28(SB)/4, $0x40e00000
DATA kq512f16<>+32(SB)/4, $0x41000000
DATA kq512f16<>+36(SB)/4, $0x41100000
DATA kq512f16<>+40(SB)/4, $0x41200000
DATA kq512f16<>+44(SB)/4, $0x41300000
DATA kq512f16<>+48(SB)/4, $0x41400000
DATA kq512f16<>+52(SB)/4, $0x41500000
DATA kq512f16<>+56(SB)/4, $0x41600000
DATA kq512f16<>+60(SB)/4, $0x41700000
GLOBL kq512f16<>(SB), RODATA|NOPTR, $64

// Q4PAIR: the 32 code bytes at SI+QOFF (sub-blocks 2J: low nibbles,
// weights 0–31; 2J+1: high nibbles, 32–63; x at DI+XOFF) through the table
// 0..15 in Z7; Z0 += d·sc_2J·Σ q·x, Z5 += d·sc_2J+1·Σ q·x.
#define Q4PAIR(QOFF, XOFF, S0, S1) \
	VPMOVZXBD QOFF(SI), Z1 \
	VPMOVZXBD QOFF+16(SI), Z2 \
	VPSRLD $4, Z1, Z3 \
	VPSRLD $4, Z2, Z4 \
	VPERMPS Z7, Z1, Z1 \
	VPERMPS Z7, Z2, Z2 \
	VPERMPS Z7, Z3, Z3 \
	VPERMPS Z7, Z4, Z4 \
	VMULPS XOFF(DI), Z1, Z8 \
	VFMADD231PS XOFF+64(DI), Z2, Z8 \
	VMULPS XOFF+128(DI), Z3, Z9 \
	VFMADD231PS XOFF+192(DI), Z4, Z9 \
	VFMADD231PS.BCST S0(SP), Z8, Z0 \
	VFMADD231PS.BCST S1(SP), Z9, Z5

// func dotQ4KRowAVX512(row []byte, x []float32, xsum *float32) float32
// A whole Q4_K row (len(x) a multiple of 256); xsum holds Σx per 32.
TEXT ·dotQ4KRowAVX512(SB), NOSPLIT, $32-60
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	MOVQ xsum+48(FP), R8
	SHRQ $8, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z5, Z5, Z5
	VXORPS Y14, Y14, Y14
	VMOVUPS kq512f16<>(SB), Z7
	TESTQ CX, CX
	JE q4k512done

q4k512block:
	PREFETCHT0 2048(SI)
	PREFETCHT0 2112(SI)
	PREFETCHT0 2176(SI)
	KSCALES
	Q4PAIR(16, 0, 0, 4)
	Q4PAIR(48, 256, 8, 12)
	Q4PAIR(80, 512, 16, 20)
	Q4PAIR(112, 768, 24, 28)
	ADDQ $144, SI
	ADDQ $1024, DI
	ADDQ $32, R8
	DECQ CX
	JNZ q4k512block

q4k512done:
	KFINISH(ret+56(FP))
	RET

DATA kq512f32hi<>+0(SB)/4, $0x41800000
DATA kq512f32hi<>+4(SB)/4, $0x41880000
DATA kq512f32hi<>+8(SB)/4, $0x41900000
DATA kq512f32hi<>+12(SB)/4, $0x41980000
DATA kq512f32hi<>+16(SB)/4, $0x41a00000
DATA kq512f32hi<>+20(SB)/4, $0x41a80000
DATA kq512f32hi<>+24(SB)/4, $0x41b00000
DATA kq512f32hi<>+28(SB)/4, $0x41b80000
DATA kq512f32hi<>+32(SB)/4, $0x41c00000
DATA kq512f32hi<>+36(SB)/4, $0x41c80000
DATA kq512f32hi<>+40(SB)/4, $0x41d00000
DATA kq512f32hi<>+44(SB)/4, $0x41d80000
DATA kq512f32hi<>+48(SB)/4, $0x41e00000
DATA kq512f32hi<>+52(SB)/4, $0x41e80000
DATA kq512f32hi<>+56(SB)/4, $0x41f00000
DATA kq512f32hi<>+60(SB)/4, $0x41f80000
GLOBL kq512f32hi<>(SB), RODATA|NOPTR, $64

// Q5PAIR: the 5-bit codes as VPERMI2PS indices into 0..31 (Z7, Z15):
// nibble in bits 0–3 selected (VPTERNLOGD 0xe4 under Z6 = 15) with the
// shifted qh bit at bit 4; higher index bits are ignored.
#define Q5PAIR(QOFF, XOFF, S0, S1, LOSH, LON, HISH, HIN) \
	VPMOVZXBD QOFF(SI), Z1 \
	VPMOVZXBD QOFF+16(SI), Z2 \
	VPSRLD $4, Z1, Z3 \
	VPSRLD $4, Z2, Z4 \
	LOSH $LON, Z10, Z11 \
	VPTERNLOGD $0xe4, Z6, Z11, Z1 \
	LOSH $LON, Z12, Z11 \
	VPTERNLOGD $0xe4, Z6, Z11, Z2 \
	HISH $HIN, Z10, Z11 \
	VPTERNLOGD $0xe4, Z6, Z11, Z3 \
	HISH $HIN, Z12, Z11 \
	VPTERNLOGD $0xe4, Z6, Z11, Z4 \
	VPERMI2PS Z15, Z7, Z1 \
	VPERMI2PS Z15, Z7, Z2 \
	VPERMI2PS Z15, Z7, Z3 \
	VPERMI2PS Z15, Z7, Z4 \
	VMULPS XOFF(DI), Z1, Z8 \
	VFMADD231PS XOFF+64(DI), Z2, Z8 \
	VMULPS XOFF+128(DI), Z3, Z9 \
	VFMADD231PS XOFF+192(DI), Z4, Z9 \
	VFMADD231PS.BCST S0(SP), Z8, Z0 \
	VFMADD231PS.BCST S1(SP), Z9, Z5

// func dotQ5KRowAVX512(row []byte, x []float32, xsum *float32) float32
// A whole Q5_K row: as dotQ4KRowAVX512 with the fifth bits from qh, whose
// bytes 0–15 are widened in Z10 and 16–31 in Z12 once per super-block; bit
// 2J (low nibbles of pair J) and 2J+1 (high ones) are shifted to bit 4 by
// LOSH $LON and HISH $HIN.
TEXT ·dotQ5KRowAVX512(SB), NOSPLIT, $32-60
	MOVQ row_base+0(FP), SI
	MOVQ x_base+24(FP), DI
	MOVQ x_len+32(FP), CX
	MOVQ xsum+48(FP), R8
	SHRQ $8, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z5, Z5, Z5
	VXORPS Y14, Y14, Y14
	VMOVUPS kq512f16<>(SB), Z7
	VMOVUPS kq512f32hi<>(SB), Z15
	VPBROADCASTD kq512c0f<>(SB), Z6
	TESTQ CX, CX
	JE q5k512done

q5k512block:
	PREFETCHT0 2048(SI)
	PREFETCHT0 2112(SI)
	PREFETCHT0 2176(SI)
	KSCALES
	VPMOVZXBD 16(SI), Z10
	VPMOVZXBD 32(SI), Z12
	Q5PAIR(48, 0, 0, 4, VPSLLD, 4, VPSLLD, 3)
	Q5PAIR(80, 256, 8, 12, VPSLLD, 2, VPSLLD, 1)
	Q5PAIR(112, 512, 16, 20, VPSLLD, 0, VPSRLD, 1)
	Q5PAIR(144, 768, 24, 28, VPSRLD, 2, VPSRLD, 3)
	ADDQ $176, SI
	ADDQ $1024, DI
	ADDQ $32, R8
	DECQ CX
	JNZ q5k512block

q5k512done:
	KFINISH(ret+56(FP))
	RET

// Q4T4PAIR: the 64 weights of pair J decoded once, as the dequantized
// values d·sc·q − dmin·m (each 16-entry table scaled and shifted, then
// looked up: bit for bit the portable decoder's values), times the x of
// four tokens at DI, DI+R8, DI+2·R8, R12 (+XOFF): Z0–Z3 (sub-block 2J) and
// Z16–Z19 (2J+1) per token.
#define Q4T4PAIR(QOFF, XOFF, S0, S1) \
	VPMOVZXBD QOFF(SI), Z8 \
	VPMOVZXBD QOFF+16(SI), Z9 \
	VPSRLD $4, Z8, Z10 \
	VPSRLD $4, Z9, Z11 \
	VMULPS.BCST S0(SP), Z7, Z12 \
	VSUBPS.BCST S0+32(SP), Z12, Z12 \
	VMULPS.BCST S1(SP), Z7, Z13 \
	VSUBPS.BCST S1+32(SP), Z13, Z13 \
	VPERMPS Z12, Z8, Z8 \
	VPERMPS Z12, Z9, Z9 \
	VPERMPS Z13, Z10, Z10 \
	VPERMPS Z13, Z11, Z11 \
	VFMADD231PS XOFF(DI), Z8, Z0 \
	VFMADD231PS XOFF+64(DI), Z9, Z0 \
	VFMADD231PS XOFF+128(DI), Z10, Z16 \
	VFMADD231PS XOFF+192(DI), Z11, Z16 \
	VFMADD231PS XOFF(DI)(R8*1), Z8, Z1 \
	VFMADD231PS XOFF+64(DI)(R8*1), Z9, Z1 \
	VFMADD231PS XOFF+128(DI)(R8*1), Z10, Z17 \
	VFMADD231PS XOFF+192(DI)(R8*1), Z11, Z17 \
	VFMADD231PS XOFF(DI)(R8*2), Z8, Z2 \
	VFMADD231PS XOFF+64(DI)(R8*2), Z9, Z2 \
	VFMADD231PS XOFF+128(DI)(R8*2), Z10, Z18 \
	VFMADD231PS XOFF+192(DI)(R8*2), Z11, Z18 \
	VFMADD231PS XOFF(R12), Z8, Z3 \
	VFMADD231PS XOFF+64(R12), Z9, Z3 \
	VFMADD231PS XOFF+128(R12), Z10, Z19 \
	VFMADD231PS XOFF+192(R12), Z11, Z19

// func q4kDot1x4AVX512(w *byte, x *float32, xstride int, nblk int, out *[4]float32)
// One Q4_K row of nblk super-blocks times four activation rows xstride
// bytes apart: out[t] = row · x_t. The row is decoded once for the four
// (MatMul's few-token path); the mins are in the decoded values, so no Σx.
// Stack: d·sc_j at 0..31, dmin·m_j at 32..63.
TEXT ·q4kDot1x4AVX512(SB), NOSPLIT, $64-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ xstride+16(FP), R8
	MOVQ nblk+24(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VMOVUPS kq512f16<>(SB), Z7
	TESTQ CX, CX
	JE q4kt4done

q4kt4block:
	PREFETCHT0 2048(SI)
	PREFETCHT0 2112(SI)
	PREFETCHT0 2176(SI)
	KUNPACK
	VMOVUPS Y11, 0(SP)
	VMOVUPS Y12, 32(SP)
	// The fourth token's x (KUNPACK clobbers R9–R13).
	LEAQ (DI)(R8*2), R12
	ADDQ R8, R12
	Q4T4PAIR(16, 0, 0, 4)
	Q4T4PAIR(48, 256, 8, 12)
	Q4T4PAIR(80, 512, 16, 20)
	Q4T4PAIR(112, 768, 24, 28)
	ADDQ $144, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ q4kt4block

q4kt4done:
	VADDPS Z16, Z0, Z0
	VADDPS Z17, Z1, Z1
	VADDPS Z18, Z2, Z2
	VADDPS Z19, Z3, Z3
	VEXTRACTF64X4 $1, Z0, Y8
	VADDPS Y8, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y8
	VADDPS Y8, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y8
	VADDPS Y8, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y8
	VADDPS Y8, Y3, Y3
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X5
	VADDPS X5, X0, X0
	MOVQ out+32(FP), AX
	VMOVUPS X0, (AX)
	VZEROUPPER
	RET

// Q6T4GROUP: the 16 values at B(SP) times d·scale(S(SP)), the portable
// decoder's weights, times the x of four tokens (+XO): A0–A3.
#define Q6T4GROUP(B, XO, S, A0, A1, A2, A3) \
	VPMOVSXBD B(SP), Z13 \
	VCVTDQ2PS Z13, Z13 \
	VMULPS.BCST S(SP), Z13, Z13 \
	VFMADD231PS XO(DI), Z13, A0 \
	VFMADD231PS XO(DI)(R8*1), Z13, A1 \
	VFMADD231PS XO(DI)(R8*2), Z13, A2 \
	VFMADD231PS XO(R12), Z13, A3

// Q6T4HALF: Q6HALF512's byte decoding (in Z20–Z23) and eight Q6T4GROUPs,
// alternating between the accumulators Z0–Z3 and Z16–Z19.
#define Q6T4HALF(QL, QH, XO, S, B) \
	VMOVDQU64 QL(SI), Z20 \
	VMOVDQU32 QH(SI), Y21 \
	VPSRLW $2, Y21, Y22 \
	VINSERTI64X4 $1, Y22, Z21, Z21 \
	VPANDD Z7, Z20, Z23 \
	VPSLLW $4, Z21, Z22 \
	VPTERNLOGD $0xf8, Z11, Z22, Z23 \
	VPSUBB Z12, Z23, Z23 \
	VMOVDQU64 Z23, B(SP) \
	VPSRLW $4, Z20, Z22 \
	VPANDD Z7, Z22, Z22 \
	VPTERNLOGD $0xf8, Z11, Z21, Z22 \
	VPSUBB Z12, Z22, Z22 \
	VMOVDQU64 Z22, B+64(SP) \
	Q6T4GROUP(B, XO, S, Z0, Z1, Z2, Z3) \
	Q6T4GROUP(B+16, XO+64, S+4, Z16, Z17, Z18, Z19) \
	Q6T4GROUP(B+32, XO+128, S+8, Z0, Z1, Z2, Z3) \
	Q6T4GROUP(B+48, XO+192, S+12, Z16, Z17, Z18, Z19) \
	Q6T4GROUP(B+64, XO+256, S+16, Z0, Z1, Z2, Z3) \
	Q6T4GROUP(B+80, XO+320, S+20, Z16, Z17, Z18, Z19) \
	Q6T4GROUP(B+96, XO+384, S+24, Z0, Z1, Z2, Z3) \
	Q6T4GROUP(B+112, XO+448, S+28, Z16, Z17, Z18, Z19)

// func q6kDot1x4AVX512(w *byte, x *float32, xstride int, nblk int, out *[4]float32)
// One Q6_K row of nblk super-blocks times four activation rows xstride
// bytes apart, the row decoded once for the four. Stack as dotQ6KRowAVX512.
TEXT ·q6kDot1x4AVX512(SB), NOSPLIT, $320-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ xstride+16(FP), R8
	MOVQ nblk+24(FP), CX
	LEAQ (DI)(R8*2), R12
	ADDQ R8, R12
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPBROADCASTD kq512b0f<>(SB), Z7
	VPBROADCASTD kq512b30<>(SB), Z11
	VPBROADCASTD kq512b20<>(SB), Z12
	TESTQ CX, CX
	JE q6kt4done

q6kt4block:
	PREFETCHT0 2048(SI)
	PREFETCHT0 2112(SI)
	PREFETCHT0 2176(SI)
	PREFETCHT0 2240(SI)
	MOVWLZX 208(SI), AX
	VMOVD AX, X14
	VCVTPH2PS X14, X14
	VBROADCASTSS X14, Z14
	VPMOVSXBD 192(SI), Z15
	VCVTDQ2PS Z15, Z15
	VMULPS Z14, Z15, Z15
	VMOVUPS Z15, 0(SP)
	Q6T4HALF(0, 128, 0, 0, 64)
	Q6T4HALF(64, 160, 512, 32, 192)
	ADDQ $210, SI
	ADDQ $1024, DI
	ADDQ $1024, R12
	DECQ CX
	JNZ q6kt4block

q6kt4done:
	VADDPS Z16, Z0, Z0
	VADDPS Z17, Z1, Z1
	VADDPS Z18, Z2, Z2
	VADDPS Z19, Z3, Z3
	VEXTRACTF64X4 $1, Z0, Y8
	VADDPS Y8, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y8
	VADDPS Y8, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y8
	VADDPS Y8, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y8
	VADDPS Y8, Y3, Y3
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X5
	VADDPS X5, X0, X0
	MOVQ out+32(FP), AX
	VMOVUPS X0, (AX)
	VZEROUPPER
	RET

// Q5T4PAIR: Q4T4PAIR for Q5_K: the 5-bit codes (Q5PAIR's indices, qh
// widened in Z24 and Z26) looked up by VPERMI2PS in the two scaled tables
// d·sc·(0..15) − dmin·m (Z12) and d·sc·(16..31) − dmin·m (Z13).
#define Q5T4PAIR(QOFF, XOFF, S0, S1, LOSH, LON, HISH, HIN) \
	VPMOVZXBD QOFF(SI), Z8 \
	VPMOVZXBD QOFF+16(SI), Z9 \
	VPSRLD $4, Z8, Z10 \
	VPSRLD $4, Z9, Z11 \
	LOSH $LON, Z24, Z25 \
	VPTERNLOGD $0xe4, Z6, Z25, Z8 \
	LOSH $LON, Z26, Z25 \
	VPTERNLOGD $0xe4, Z6, Z25, Z9 \
	HISH $HIN, Z24, Z25 \
	VPTERNLOGD $0xe4, Z6, Z25, Z10 \
	HISH $HIN, Z26, Z25 \
	VPTERNLOGD $0xe4, Z6, Z25, Z11 \
	VMULPS.BCST S0(SP), Z7, Z12 \
	VSUBPS.BCST S0+32(SP), Z12, Z12 \
	VMULPS.BCST S0(SP), Z15, Z13 \
	VSUBPS.BCST S0+32(SP), Z13, Z13 \
	VPERMI2PS Z13, Z12, Z8 \
	VPERMI2PS Z13, Z12, Z9 \
	VMULPS.BCST S1(SP), Z7, Z12 \
	VSUBPS.BCST S1+32(SP), Z12, Z12 \
	VMULPS.BCST S1(SP), Z15, Z13 \
	VSUBPS.BCST S1+32(SP), Z13, Z13 \
	VPERMI2PS Z13, Z12, Z10 \
	VPERMI2PS Z13, Z12, Z11 \
	VFMADD231PS XOFF(DI), Z8, Z0 \
	VFMADD231PS XOFF+64(DI), Z9, Z0 \
	VFMADD231PS XOFF+128(DI), Z10, Z16 \
	VFMADD231PS XOFF+192(DI), Z11, Z16 \
	VFMADD231PS XOFF(DI)(R8*1), Z8, Z1 \
	VFMADD231PS XOFF+64(DI)(R8*1), Z9, Z1 \
	VFMADD231PS XOFF+128(DI)(R8*1), Z10, Z17 \
	VFMADD231PS XOFF+192(DI)(R8*1), Z11, Z17 \
	VFMADD231PS XOFF(DI)(R8*2), Z8, Z2 \
	VFMADD231PS XOFF+64(DI)(R8*2), Z9, Z2 \
	VFMADD231PS XOFF+128(DI)(R8*2), Z10, Z18 \
	VFMADD231PS XOFF+192(DI)(R8*2), Z11, Z18 \
	VFMADD231PS XOFF(R12), Z8, Z3 \
	VFMADD231PS XOFF+64(R12), Z9, Z3 \
	VFMADD231PS XOFF+128(R12), Z10, Z19 \
	VFMADD231PS XOFF+192(R12), Z11, Z19

// func q5kDot1x4AVX512(w *byte, x *float32, xstride int, nblk int, out *[4]float32)
// One Q5_K row of nblk super-blocks times four activation rows xstride
// bytes apart, the row decoded once for the four. Stack as q4kDot1x4AVX512.
TEXT ·q5kDot1x4AVX512(SB), NOSPLIT, $64-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ xstride+16(FP), R8
	MOVQ nblk+24(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VMOVUPS kq512f16<>(SB), Z7
	VMOVUPS kq512f32hi<>(SB), Z15
	VPBROADCASTD kq512c0f<>(SB), Z6
	TESTQ CX, CX
	JE q5kt4done

q5kt4block:
	PREFETCHT0 2048(SI)
	PREFETCHT0 2112(SI)
	PREFETCHT0 2176(SI)
	KUNPACK
	VMOVUPS Y11, 0(SP)
	VMOVUPS Y12, 32(SP)
	// The fourth token's x (KUNPACK clobbers R9–R13).
	LEAQ (DI)(R8*2), R12
	ADDQ R8, R12
	VPMOVZXBD 16(SI), Z24
	VPMOVZXBD 32(SI), Z26
	Q5T4PAIR(48, 0, 0, 4, VPSLLD, 4, VPSLLD, 3)
	Q5T4PAIR(80, 256, 8, 12, VPSLLD, 2, VPSLLD, 1)
	Q5T4PAIR(112, 512, 16, 20, VPSLLD, 0, VPSRLD, 1)
	Q5T4PAIR(144, 768, 24, 28, VPSRLD, 2, VPSRLD, 3)
	ADDQ $176, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ q5kt4block

q5kt4done:
	VADDPS Z16, Z0, Z0
	VADDPS Z17, Z1, Z1
	VADDPS Z18, Z2, Z2
	VADDPS Z19, Z3, Z3
	VEXTRACTF64X4 $1, Z0, Y8
	VADDPS Y8, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y8
	VADDPS Y8, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y8
	VADDPS Y8, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y8
	VADDPS Y8, Y3, Y3
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X5
	VADDPS X5, X0, X0
	MOVQ out+32(FP), AX
	VMOVUPS X0, (AX)
	VZEROUPPER
	RET
