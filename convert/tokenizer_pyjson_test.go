package convert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fixture dumps summarize long arrays by the sha256 of Python's
// json.dumps(values, ensure_ascii=False). pyJSONDumps reproduces that text for
// the element types GGUF arrays hold, so hashes can be compared byte for byte.

// pyJSONDumps renders a list as Python's json.dumps(xs, ensure_ascii=False)
// with the default separators (", ").
func pyJSONDumps(xs []any) (string, error) {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		switch v := x.(type) {
		case string:
			pyJSONString(&b, v)
		case bool:
			if v {
				b.WriteString("true")
			} else {
				b.WriteString("false")
			}
		case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64:
			fmt.Fprintf(&b, "%d", v)
		case float32:
			// The dump tool read float32 values into Python floats (exact widening).
			b.WriteString(pyFloatRepr(float64(v)))
		case float64:
			b.WriteString(pyFloatRepr(v))
		default:
			return "", fmt.Errorf("pyJSONDumps: unsupported element %T", x)
		}
	}
	b.WriteByte(']')
	return b.String(), nil
}

// pyJSONString writes s the way json's py_encode_basestring does: only '"',
// '\\' and C0 controls are escaped; everything else is written raw.
func pyJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// pyFloatRepr is Python's repr(float) as json.dumps prints it: shortest
// round-trip digits, fixed notation for 1e-4 <= |x| < 1e16 with a trailing
// ".0" for integral values, otherwise d.ddde±XX.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	decpt := exp + 1
	if f == 0 {
		return sign + "0.0"
	}
	if decpt <= -4 || decpt > 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es = "-"
			exp = -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
	}
	var s string
	switch {
	case decpt <= 0:
		s = "0." + strings.Repeat("0", -decpt) + digits
	case decpt >= len(digits):
		s = digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	default:
		s = digits[:decpt] + "." + digits[decpt:]
	}
	return sign + s
}

// pyJSONSHA256 is the sha256 hex digest of pyJSONDumps(xs) in UTF-8.
func pyJSONSHA256(xs []any) (string, error) {
	s, err := pyJSONDumps(xs)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:]), nil
}

func TestPyJSONDumps(t *testing.T) {
	// Expected strings are what CPython 3 prints for the same lists.
	cases := []struct {
		in   []any
		want string
	}{
		{[]any{"a", "Ġthe", "é\"\\\n\t\x01\x7f", "<｜begin▁of▁sentence｜>"},
			`["a", "Ġthe", "é\"\\\n\t\u0001` + "\x7f" + `", "<｜begin▁of▁sentence｜>"]`},
		{[]any{int32(1), int32(-5), true, false}, `[1, -5, true, false]`},
		{[]any{float32(-1000), float32(0), float32(-10000), float32(0.1), 1e16, 1e15, 1e-4, 1e-5, 1.5e-7, math.Copysign(0, -1), 123.456, float32(-5.25)},
			`[-1000.0, 0.0, -10000.0, 0.10000000149011612, 1e+16, 1000000000000000.0, 0.0001, 1e-05, 1.5e-07, -0.0, 123.456, -5.25]`},
		{[]any{}, `[]`},
	}
	for _, c := range cases {
		got, err := pyJSONDumps(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("pyJSONDumps(%v)\n got %s\nwant %s", c.in, got, c.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("invalid UTF-8")
		}
	}
}
