//go:build !amd64

package quant

// Without an assembly version the lane kernels are the Go ones, and the
// lane search is not used (it only pays with vector instructions).

var useLanes = false

func qkx2Sums(isc *[lanes]float32, b *laneBlock, la *[32][lanes]int32, n int, nmax int32, out *[3][lanes]float32) {
	qkx2SumsGo(isc, b, la, n, nmax, out)
}

func qkx2Err(ts, tm *[lanes]float32, b *laneBlock, la *[32][lanes]int32, n int, mad bool, out *[lanes]float32) {
	qkx2ErrGo(ts, tm, b, la, n, mad, out)
}

func qxSums(isc *[lanes]float32, b *laneBlock, la *[32][lanes]int32, n int, nmax int32, out *[3][lanes]float32) {
	qxSumsGo(isc, b, la, n, nmax, out)
}

func mxfp4Codes(g *mxfp4Grid, x *[32]float32, codes *[32]int32) { mxfp4CodesGo(g, x, codes) }
