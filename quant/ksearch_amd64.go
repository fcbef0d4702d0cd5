package quant

import "github.com/klauspost/cpuid/v2"

// haveAVX2 selects the assembly kernels; useLanes the eight-lane K-quant
// search, which only pays with them (tests switch it on regardless).
var (
	haveAVX2 = cpuid.CPU.Supports(cpuid.AVX2)
	useLanes = haveAVX2
)

//go:noescape
func qkx2SumsAVX2(isc *[lanes]float32, xm, w, x *[32][lanes]float32, la *[32][lanes]int32, n int, nmax int32, out *[3][lanes]float32)

//go:noescape
func qkx2ErrAVX2(ts, tm *[lanes]float32, la *[32][lanes]int32, x, w *[32][lanes]float32, n int, mad bool, out *[lanes]float32)

func qkx2Sums(isc *[lanes]float32, b *laneBlock, la *[32][lanes]int32, n int, nmax int32, out *[3][lanes]float32) {
	if !haveAVX2 {
		qkx2SumsGo(isc, b, la, n, nmax, out)
		return
	}
	qkx2SumsAVX2(isc, &b.xm, &b.w, &b.x, la, n, nmax, out)
}

func qkx2Err(ts, tm *[lanes]float32, b *laneBlock, la *[32][lanes]int32, n int, mad bool, out *[lanes]float32) {
	if !haveAVX2 {
		qkx2ErrGo(ts, tm, b, la, n, mad, out)
		return
	}
	qkx2ErrAVX2(ts, tm, la, &b.x, &b.w, n, mad, out)
}

//go:noescape
func qxSumsAVX2(isc *[lanes]float32, x, w, wx *[32][lanes]float32, la *[32][lanes]int32, n int, nmax int32, out *[3][lanes]float32)

func qxSums(isc *[lanes]float32, b *laneBlock, la *[32][lanes]int32, n int, nmax int32, out *[3][lanes]float32) {
	if !haveAVX2 {
		qxSumsGo(isc, b, la, n, nmax, out)
		return
	}
	qxSumsAVX2(isc, &b.x, &b.w, &b.xm, la, n, nmax, out)
}

//go:noescape
func mxfp4BestAVX2(grid *[16]float32, x *[32]float32, codes *[32]int32)

// mxfp4Codes sets codes to the nearest grid code of each of the 32 x.
func mxfp4Codes(g *mxfp4Grid, x *[32]float32, codes *[32]int32) {
	if !haveAVX2 {
		mxfp4CodesGo(g, x, codes)
		return
	}
	mxfp4BestAVX2((*[16]float32)(g), x, codes)
}
