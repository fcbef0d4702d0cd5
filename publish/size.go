package publish

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps a unit suffix to its multiplier: SI units are powers of
// 1000, binary units (KiB, MiB...) powers of 1024, as gguf-split and the Hub
// spell them.
var sizeUnits = map[string]float64{
	"":    1,
	"B":   1,
	"K":   1e3,
	"KB":  1e3,
	"M":   1e6,
	"MB":  1e6,
	"G":   1e9,
	"GB":  1e9,
	"T":   1e12,
	"TB":  1e12,
	"KIB": 1 << 10,
	"MIB": 1 << 20,
	"GIB": 1 << 30,
	"TIB": 1 << 40,
}

// ParseSize parses a byte count such as "48GB", "2GiB", "1.5G", "512MiB"
// or "1000000". Units are case-insensitive; GB is 10^9 and GiB 2^30 bytes.
// Zero, negative and fractional-byte results are refused.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToUpper(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)", s, t[i:])
	}
	if num == "" || strings.HasPrefix(num, "+") || strings.HasPrefix(num, "-") {
		return 0, fmt.Errorf("size %q: expected a positive number followed by a unit, like 48GB or 2GiB", s)
	}
	x, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("size %q: %q is not a number", s, num)
	}
	v := x * mult
	if v < 1 {
		return 0, fmt.Errorf("size %q: must be at least one byte", s)
	}
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("size %q: is not a whole number of bytes", s)
	}
	return int64(v), nil
}

// FormatSize prints n bytes with SI units (1 GB = 10^9 B) and two decimals,
// as the Hub shows file sizes.
func FormatSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %cB", float64(n)/float64(div), "kMGTP"[exp])
}

// FormatGiB prints n bytes in GiB with two decimals, rounded up so that a
// memory figure is never understated.
func FormatGiB(n int64) string {
	g := math.Ceil(float64(n)/(1<<30)*100) / 100
	return fmt.Sprintf("%.2f GiB", g)
}
