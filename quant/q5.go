package quant

import "encoding/binary"

// Q5_0 (22 bytes: half d, u32 qh, 16 bytes of nibbles) and Q5_1 (24 bytes:
// half d, half m, u32 qh, nibbles), 32 elements per block. The low four
// bits follow the Q4 nibble rule; bit j of qh is bit 4 of element j.

const (
	blockQ5_0 = 22
	blockQ5_1 = 24
)

func quantizeQ5_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/qk4_0; b++ {
		x := src[b*qk4_0 : (b+1)*qk4_0]
		y := dst[b*blockQ5_0 : (b+1)*blockQ5_0]
		d := signedMax(x) / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		var qh uint32
		for j := 0; j < 16; j++ {
			x0 := float32(x[j] * id)
			x1 := float32(x[16+j] * id)
			q0 := uint32(min(31, int8(x0+16.5)))
			q1 := uint32(min(31, int8(x1+16.5)))
			y[6+j] = byte(q0&0xf) | byte(q1&0xf)<<4
			qh |= (q0 & 0x10 >> 4) << j
			qh |= (q1 & 0x10 >> 4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(y[2:], qh)
	}
}

func dequantizeQ5_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qk4_0; b++ {
		y := dst[b*qk4_0 : (b+1)*qk4_0]
		x := src[b*blockQ5_0 : (b+1)*blockQ5_0]
		d := half(x)
		qh := binary.LittleEndian.Uint32(x[2:])
		for j := 0; j < 16; j++ {
			h0 := int(qh>>j&1) << 4
			h1 := int(qh>>(j+16)&1) << 4
			y[j] = float32(int(x[6+j]&0xf)|h0-16) * d
			y[j+16] = float32(int(x[6+j]>>4)|h1-16) * d
		}
	}
}

func quantizeQ5_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/qk4_0; b++ {
		x := src[b*qk4_0 : (b+1)*qk4_0]
		y := dst[b*blockQ5_1 : (b+1)*blockQ5_1]
		min, max := minMax(x)
		d := (max - min) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		putHalf(y[2:], min)
		var qh uint32
		for j := 0; j < 16; j++ {
			x0 := float32((x[j] - min) * id)
			x1 := float32((x[16+j] - min) * id)
			// (uint8_t) of the float: truncation, no clamp in the reference.
			q0 := uint32(uint8(int32(x0 + 0.5)))
			q1 := uint32(uint8(int32(x1 + 0.5)))
			y[8+j] = byte(q0&0xf) | byte(q1&0xf)<<4
			qh |= (q0 & 0x10 >> 4) << j
			qh |= (q1 & 0x10 >> 4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(y[4:], qh)
	}
}

func dequantizeQ5_1(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qk4_0; b++ {
		y := dst[b*qk4_0 : (b+1)*qk4_0]
		x := src[b*blockQ5_1 : (b+1)*blockQ5_1]
		d, m := half(x), half(x[2:])
		qh := binary.LittleEndian.Uint32(x[4:])
		for j := 0; j < 16; j++ {
			h0 := byte(qh>>j&1) << 4
			h1 := byte(qh>>(j+16)&1) << 4
			y[j] = float32(float32(x[8+j]&0xf|h0)*d) + m
			y[j+16] = float32(float32(x[8+j]>>4|h1)*d) + m
		}
	}
}
