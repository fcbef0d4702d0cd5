package ops

import "unsafe"

func ptrOf(x []float32) unsafe.Pointer { return unsafe.Pointer(&x[0]) }
