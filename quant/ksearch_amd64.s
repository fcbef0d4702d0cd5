#include "textflag.h"

// AVX2 kernels of the eight-lane make_qkx2_quants (ksearch_lanes.go).
// Each lane does the float32 operations of the scalar code in the same
// order; only multiplications and additions, never FMA, so the results
// are those of the reference quantizer bit for bit.

// func qkx2SumsAVX2(isc *[8]float32, xm, w, x *[32][8]float32, la *[32][8]int32, n int, nmax int32, out *[3][8]float32)
TEXT ·qkx2SumsAVX2(SB), NOSPLIT, $0-64
	MOVQ isc+0(FP), AX
	MOVQ xm+8(FP), BX
	MOVQ w+16(FP), CX
	MOVQ x+24(FP), DX
	MOVQ la+32(FP), SI
	MOVQ n+40(FP), DI
	MOVL nmax+48(FP), R8
	MOVQ out+56(FP), R9

	VMOVUPS (AX), Y0            // iscale per lane
	MOVL $0x4B400000, R10       // 12582912.0f: nearest_int's 1.5·2^23
	VMOVD R10, X15
	VPBROADCASTD X15, Y15
	MOVL $0x007FFFFF, R10
	VMOVD R10, X14
	VPBROADCASTD X14, Y14
	MOVL $0x00400000, R10
	VMOVD R10, X13
	VPBROADCASTD X13, Y13
	VPXOR Y12, Y12, Y12         // 0
	VMOVD R8, X11
	VPBROADCASTD X11, Y11       // nmax

	VXORPS Y1, Y1, Y1           // Σ w·l
	VXORPS Y2, Y2, Y2           // Σ (w·l)·l
	VXORPS Y3, Y3, Y3           // Σ (w·l)·x

	TESTQ DI, DI
	JLE   sumsdone

sumsloop:
	VMULPS  (BX), Y0, Y4        // iscale·(x - min)
	VADDPS  Y15, Y4, Y4         // nearest_int: + 1.5·2^23,
	VPAND   Y14, Y4, Y4         // low 23 bits,
	VPSUBD  Y13, Y4, Y4         // - 0x400000
	VPMAXSD Y12, Y4, Y4         // clamp to [0, nmax]
	VPMINSD Y11, Y4, Y4
	VMOVDQU Y4, (SI)
	VCVTDQ2PS Y4, Y5            // l as float
	VMULPS  (CX), Y5, Y6        // wl = w·l
	VADDPS  Y6, Y1, Y1
	VMULPS  Y5, Y6, Y7          // wl·l
	VADDPS  Y7, Y2, Y2
	VMULPS  (DX), Y6, Y8        // wl·x
	VADDPS  Y8, Y3, Y3
	ADDQ $32, BX
	ADDQ $32, CX
	ADDQ $32, DX
	ADDQ $32, SI
	DECQ DI
	JNZ  sumsloop

sumsdone:
	VMOVUPS Y1, (R9)
	VMOVUPS Y2, 32(R9)
	VMOVUPS Y3, 64(R9)
	VZEROUPPER
	RET

// func qkx2ErrAVX2(ts, tm *[8]float32, la *[32][8]int32, x, w *[32][8]float32, n int, mad bool, out *[8]float32)
TEXT ·qkx2ErrAVX2(SB), NOSPLIT, $0-64
	MOVQ ts+0(FP), AX
	MOVQ tm+8(FP), BX
	MOVQ la+16(FP), SI
	MOVQ x+24(FP), DX
	MOVQ w+32(FP), CX
	MOVQ n+40(FP), DI
	MOVBLZX mad+48(FP), R8
	MOVQ out+56(FP), R9

	VMOVUPS (AX), Y0            // scale
	VMOVUPS (BX), Y1            // min
	VXORPS  Y2, Y2, Y2          // Σ w·e
	MOVL $0x7FFFFFFF, R10
	VMOVD R10, X10
	VPBROADCASTD X10, Y10       // |.| mask

	TESTQ DI, DI
	JLE   errdone
	TESTQ R8, R8
	JNZ   madloop

sqloop:
	VCVTDQ2PS (SI), Y4          // l
	VMULPS  Y4, Y0, Y4          // scale·l
	VADDPS  Y1, Y4, Y4          // + min
	VSUBPS  (DX), Y4, Y4        // - x
	VMULPS  Y4, Y4, Y4          // diff²
	VMULPS  (CX), Y4, Y4        // w·diff²
	VADDPS  Y4, Y2, Y2
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, CX
	DECQ DI
	JNZ  sqloop
	JMP  errdone

madloop:
	VCVTDQ2PS (SI), Y4
	VMULPS  Y4, Y0, Y4
	VADDPS  Y1, Y4, Y4
	VSUBPS  (DX), Y4, Y4
	VANDPS  Y10, Y4, Y4         // |diff|
	VMULPS  (CX), Y4, Y4
	VADDPS  Y4, Y2, Y2
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, CX
	DECQ DI
	JNZ  madloop

errdone:
	VMOVUPS Y2, (R9)
	VZEROUPPER
	RET

// func qxSumsAVX2(isc *[8]float32, x, w, wx *[32][8]float32, la *[32][8]int32, n int, nmax int32, out *[3][8]float32)
TEXT ·qxSumsAVX2(SB), NOSPLIT, $0-64
	MOVQ isc+0(FP), AX
	MOVQ x+8(FP), BX
	MOVQ w+16(FP), CX
	MOVQ wx+24(FP), DX
	MOVQ la+32(FP), SI
	MOVQ n+40(FP), DI
	MOVL nmax+48(FP), R8
	MOVQ out+56(FP), R9

	VMOVUPS (AX), Y0            // iscale per lane
	MOVL $0x4B400000, R10
	VMOVD R10, X15
	VPBROADCASTD X15, Y15
	MOVL $0x007FFFFF, R10
	VMOVD R10, X14
	VPBROADCASTD X14, Y14
	MOVL $0x00400000, R10
	VMOVD R10, X13
	VPBROADCASTD X13, Y13
	MOVL R8, R10
	NEGL R10
	VMOVD R10, X12
	VPBROADCASTD X12, Y12       // -nmax
	MOVL R8, R10
	DECL R10
	VMOVD R10, X11
	VPBROADCASTD X11, Y11       // nmax-1

	VXORPS Y1, Y1, Y1           // Σ (w·x)·l
	VXORPS Y2, Y2, Y2           // Σ (w·l)·l

	TESTQ DI, DI
	JLE   qxdone

qxloop:
	VMULPS  (BX), Y0, Y4        // iscale·x
	VADDPS  Y15, Y4, Y4         // nearest_int
	VPAND   Y14, Y4, Y4
	VPSUBD  Y13, Y4, Y4
	VPMAXSD Y12, Y4, Y4         // clamp to [-nmax, nmax-1]
	VPMINSD Y11, Y4, Y4
	VMOVDQU Y4, (SI)
	VCVTDQ2PS Y4, Y5            // l
	VMULPS  (DX), Y5, Y6        // (w·x)·l
	VADDPS  Y6, Y1, Y1
	VMULPS  (CX), Y5, Y7        // w·l
	VMULPS  Y5, Y7, Y7          // (w·l)·l
	VADDPS  Y7, Y2, Y2
	ADDQ $32, BX
	ADDQ $32, CX
	ADDQ $32, DX
	ADDQ $32, SI
	DECQ DI
	JNZ  qxloop

qxdone:
	VMOVUPS Y1, (R9)
	VMOVUPS Y2, 32(R9)
	VZEROUPPER
	RET

// func mxfp4BestAVX2(grid *[16]float32, x *[32]float32, codes *[32]int32)
// For each of the 32 elements the first code i with the least
// |grid[i] - x| (strictly less replaces), as bestMXFP4 does.
TEXT ·mxfp4BestAVX2(SB), NOSPLIT, $0-24
	MOVQ grid+0(FP), AX
	MOVQ x+8(FP), BX
	MOVQ codes+16(FP), DX
	MOVL $0x7FFFFFFF, R10
	VMOVD R10, X15
	VPBROADCASTD X15, Y15       // |.| mask
	MOVQ $4, DI                 // 4 vectors of 8 elements

mxvec:
	VMOVUPS (BX), Y0            // x
	VBROADCASTSS (AX), Y1
	VSUBPS  Y0, Y1, Y2          // grid[0] - x
	VANDPS  Y15, Y2, Y2         // best error
	VPXOR   Y3, Y3, Y3          // best code 0
	MOVQ $1, CX

mxcode:
	VBROADCASTSS (AX)(CX*4), Y1
	VSUBPS  Y0, Y1, Y4          // grid[i] - x
	VANDPS  Y15, Y4, Y4
	VCMPPS  $0x11, Y2, Y4, Y5   // err < best (ordered, quiet)
	VBLENDVPS Y5, Y4, Y2, Y2    // best = mask ? err : best
	VMOVD   CX, X6
	VPBROADCASTD X6, Y6
	VBLENDVPS Y5, Y6, Y3, Y3    // code = mask ? i : code
	INCQ CX
	CMPQ CX, $16
	JLT  mxcode

	VMOVDQU Y3, (DX)
	ADDQ $32, BX
	ADDQ $32, DX
	DECQ DI
	JNZ  mxvec
	VZEROUPPER
	RET
