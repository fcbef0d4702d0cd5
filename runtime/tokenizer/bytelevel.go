package tokenizer

// Byte-level BPE (GPT-2) writes every byte as a printable character: the
// bytes that are printable Latin-1 stand for themselves, the other 68 are
// moved to U+0100 and up, in byte order.

var byteChar [256]string  // byte → its character, UTF-8
var charByte [0x144]int16 // rune → byte, -1 where the rune stands for none

func init() {
	for i := range charByte {
		charByte[i] = -1
	}
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE) {
			r = rune(256 + n)
			n++
		}
		byteChar[b] = string(r)
		charByte[r] = int16(b)
	}
}

func unicodeToByte(r rune) (byte, bool) {
	if r < 0 || int(r) >= len(charByte) || charByte[r] < 0 {
		return 0, false
	}
	return byte(charByte[r]), true
}
