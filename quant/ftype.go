package quant

import (
	"fmt"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// Ftype is llama.cpp's llama_ftype, stored as general.file_type: the
// quantization preset a file was made with.
type Ftype uint32

// The presets gguftool can produce (values from include/llama.h).
const (
	FtypeAllF32    Ftype = 0
	FtypeF16       Ftype = 1
	FtypeQ4_0      Ftype = 2
	FtypeQ4_1      Ftype = 3
	FtypeQ8_0      Ftype = 7
	FtypeQ5_0      Ftype = 8
	FtypeQ5_1      Ftype = 9
	FtypeQ2_K      Ftype = 10
	FtypeQ3_K_S    Ftype = 11
	FtypeQ3_K_M    Ftype = 12
	FtypeQ3_K_L    Ftype = 13
	FtypeQ4_K_S    Ftype = 14
	FtypeQ4_K_M    Ftype = 15
	FtypeQ5_K_S    Ftype = 16
	FtypeQ5_K_M    Ftype = 17
	FtypeQ6_K      Ftype = 18
	FtypeQ2_K_S    Ftype = 21
	FtypeBF16      Ftype = 32
	FtypeMXFP4_MOE Ftype = 38
)

type ftypeInfo struct {
	name string
	def  gguf.Type // llama_ftype_get_default_type
}

var ftypes = map[Ftype]ftypeInfo{
	FtypeAllF32:    {"F32", gguf.TypeF32},
	FtypeF16:       {"F16", gguf.TypeF16},
	FtypeBF16:      {"BF16", gguf.TypeBF16},
	FtypeQ4_0:      {"Q4_0", gguf.TypeQ4_0},
	FtypeQ4_1:      {"Q4_1", gguf.TypeQ4_1},
	FtypeQ5_0:      {"Q5_0", gguf.TypeQ5_0},
	FtypeQ5_1:      {"Q5_1", gguf.TypeQ5_1},
	FtypeQ8_0:      {"Q8_0", gguf.TypeQ8_0},
	FtypeQ2_K:      {"Q2_K", gguf.TypeQ2_K},
	FtypeQ2_K_S:    {"Q2_K_S", gguf.TypeQ2_K},
	FtypeQ3_K_S:    {"Q3_K_S", gguf.TypeQ3_K},
	FtypeQ3_K_M:    {"Q3_K_M", gguf.TypeQ3_K},
	FtypeQ3_K_L:    {"Q3_K_L", gguf.TypeQ3_K},
	FtypeQ4_K_S:    {"Q4_K_S", gguf.TypeQ4_K},
	FtypeQ4_K_M:    {"Q4_K_M", gguf.TypeQ4_K},
	FtypeQ5_K_S:    {"Q5_K_S", gguf.TypeQ5_K},
	FtypeQ5_K_M:    {"Q5_K_M", gguf.TypeQ5_K},
	FtypeQ6_K:      {"Q6_K", gguf.TypeQ6_K},
	FtypeMXFP4_MOE: {"MXFP4_MOE", gguf.TypeMXFP4},
}

// ftypeAliases are the extra names llama-quantize accepts.
var ftypeAliases = map[string]Ftype{"Q3_K": FtypeQ3_K_M, "Q4_K": FtypeQ4_K_M, "Q5_K": FtypeQ5_K_M}

// ParseFtype returns the preset named name, case-insensitively, as
// llama-quantize spells them: "Q4_K_M", "q8_0", "MXFP4_MOE", "F16"...
func ParseFtype(name string) (Ftype, error) {
	up := strings.ToUpper(name)
	if f, ok := ftypeAliases[up]; ok {
		return f, nil
	}
	for f, fi := range ftypes {
		if fi.name == up {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unknown quantization type %q (known: %s)", name, strings.Join(FtypeNames(), ", "))
}

// FtypeNames lists the preset names in id order.
func FtypeNames() []string {
	var names []string
	for f := Ftype(0); f <= FtypeMXFP4_MOE; f++ {
		if fi, ok := ftypes[f]; ok {
			names = append(names, fi.name)
		}
	}
	return names
}

// String returns the preset's name, or "ftype(N)".
func (f Ftype) String() string {
	if fi, ok := ftypes[f]; ok {
		return fi.name
	}
	return fmt.Sprintf("ftype(%d)", uint32(f))
}

// DefaultType is the tensor type most weights of the preset get.
func (f Ftype) DefaultType() gguf.Type { return ftypes[f].def }
