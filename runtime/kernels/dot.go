package kernels

// dotF32 is the float32 dot product the matrix kernels use; it is replaced by
// a SIMD version at init when the CPU has one (simd_amd64.go).
var dotF32 = dotF32Portable

// f16RowToF32 converts a row of fp16 values; SIMD-replaced like dotF32.
var f16RowToF32 = f16RowToF32Portable

// dotQ8_0 is the fused Q8_0 row · x product; SIMD-replaced like dotF32.
var dotQ8_0 = dotQ8_0Portable

// Dot returns Σ a[i]·b[i] over len(a) elements with the active implementation.
func Dot(a, b []float32) float32 { return dotF32(a, b) }

// dotF32Portable accumulates in four independent float32 lanes, the same
// association a 4-wide vector unit would use, so that it is fast without SIMD.
func dotF32Portable(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dotQ8_0Portable multiplies a Q8_0 row by x block by block: Σ_b d_b·Σ_j q_bj·x_bj.
func dotQ8_0Portable(row []byte, x []float32) float32 {
	var sum float32
	for b := 0; b < len(x)/qk; b++ {
		blk := row[b*q80Bytes : (b+1)*q80Bytes]
		d := f16Table[uint16(blk[0])|uint16(blk[1])<<8]
		xs := x[b*qk : (b+1)*qk]
		var s0, s1, s2, s3 float32
		for j := 0; j < qk; j += 4 {
			s0 += float32(int8(blk[2+j])) * xs[j]
			s1 += float32(int8(blk[3+j])) * xs[j+1]
			s2 += float32(int8(blk[4+j])) * xs[j+2]
			s3 += float32(int8(blk[5+j])) * xs[j+3]
		}
		sum += d * ((s0 + s1) + (s2 + s3))
	}
	return sum
}
