package publish

import (
	"fmt"
	"math"
)

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

// FormatMem prints a memory figure rounded up, so that it is never
// understated: whole MiB below 1 GiB, else GiB with two decimals.
func FormatMem(n int64) string {
	if n < 1<<30 {
		return fmt.Sprintf("%d MiB", (n+(1<<20)-1)>>20)
	}
	g := math.Ceil(float64(n)/(1<<30)*100) / 100
	return fmt.Sprintf("%.2f GiB", g)
}
