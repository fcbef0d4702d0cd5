// Package gguf reads and writes GGUF files (version 3, and reads version 2)
// exactly as llama.cpp does, and holds the ggml tensor type table.
package gguf

import (
	"fmt"
	"strings"
)

// Type is a ggml tensor type id as stored in a GGUF tensor info.
type Type uint32

// The ggml tensor types. Ids 4, 5, 31–33 and 36–38 were removed from ggml
// and are rejected by the reader.
const (
	TypeF32     Type = 0
	TypeF16     Type = 1
	TypeQ4_0    Type = 2
	TypeQ4_1    Type = 3
	TypeQ5_0    Type = 6
	TypeQ5_1    Type = 7
	TypeQ8_0    Type = 8
	TypeQ8_1    Type = 9
	TypeQ2_K    Type = 10
	TypeQ3_K    Type = 11
	TypeQ4_K    Type = 12
	TypeQ5_K    Type = 13
	TypeQ6_K    Type = 14
	TypeQ8_K    Type = 15
	TypeIQ2_XXS Type = 16
	TypeIQ2_XS  Type = 17
	TypeIQ3_XXS Type = 18
	TypeIQ1_S   Type = 19
	TypeIQ4_NL  Type = 20
	TypeIQ3_S   Type = 21
	TypeIQ2_S   Type = 22
	TypeIQ4_XS  Type = 23
	TypeI8      Type = 24
	TypeI16     Type = 25
	TypeI32     Type = 26
	TypeI64     Type = 27
	TypeF64     Type = 28
	TypeIQ1_M   Type = 29
	TypeBF16    Type = 30
	TypeTQ1_0   Type = 34
	TypeTQ2_0   Type = 35
	TypeMXFP4   Type = 39
	TypeNVFP4   Type = 40
	TypeQ1_0    Type = 41
	TypeQ2_0    Type = 42

	// TypeCount is one past the largest id ggml knows (GGML_TYPE_COUNT).
	TypeCount Type = 43
)

// TypeTraits describes the storage of one ggml type: BlockSize elements are
// stored in TypeSize bytes.
type TypeTraits struct {
	Name      string
	BlockSize int
	TypeSize  int
	Quantized bool
}

// typeTraits is printed from a compiled libggml (ggml_type_name,
// ggml_blck_size, ggml_type_size, ggml_is_quantized). Removed ids are absent.
var typeTraits = map[Type]TypeTraits{
	TypeF32:     {"F32", 1, 4, false},
	TypeF16:     {"F16", 1, 2, false},
	TypeQ4_0:    {"Q4_0", 32, 18, true},
	TypeQ4_1:    {"Q4_1", 32, 20, true},
	TypeQ5_0:    {"Q5_0", 32, 22, true},
	TypeQ5_1:    {"Q5_1", 32, 24, true},
	TypeQ8_0:    {"Q8_0", 32, 34, true},
	TypeQ8_1:    {"Q8_1", 32, 36, true},
	TypeQ2_K:    {"Q2_K", 256, 84, true},
	TypeQ3_K:    {"Q3_K", 256, 110, true},
	TypeQ4_K:    {"Q4_K", 256, 144, true},
	TypeQ5_K:    {"Q5_K", 256, 176, true},
	TypeQ6_K:    {"Q6_K", 256, 210, true},
	TypeQ8_K:    {"Q8_K", 256, 292, true},
	TypeIQ2_XXS: {"IQ2_XXS", 256, 66, true},
	TypeIQ2_XS:  {"IQ2_XS", 256, 74, true},
	TypeIQ3_XXS: {"IQ3_XXS", 256, 98, true},
	TypeIQ1_S:   {"IQ1_S", 256, 50, true},
	TypeIQ4_NL:  {"IQ4_NL", 32, 18, true},
	TypeIQ3_S:   {"IQ3_S", 256, 110, true},
	TypeIQ2_S:   {"IQ2_S", 256, 82, true},
	TypeIQ4_XS:  {"IQ4_XS", 256, 136, true},
	TypeI8:      {"I8", 1, 1, false},
	TypeI16:     {"I16", 1, 2, false},
	TypeI32:     {"I32", 1, 4, false},
	TypeI64:     {"I64", 1, 8, false},
	TypeF64:     {"F64", 1, 8, false},
	TypeIQ1_M:   {"IQ1_M", 256, 56, true},
	TypeBF16:    {"BF16", 1, 2, false},
	TypeTQ1_0:   {"TQ1_0", 256, 54, true},
	TypeTQ2_0:   {"TQ2_0", 256, 66, true},
	TypeMXFP4:   {"MXFP4", 32, 17, true},
	TypeNVFP4:   {"NVFP4", 64, 36, true},
	TypeQ1_0:    {"Q1_0", 128, 18, true},
	TypeQ2_0:    {"Q2_0", 64, 18, true},
}

// Traits returns the storage description of t and whether t is a type ggml
// still knows.
func (t Type) Traits() (TypeTraits, bool) {
	tr, ok := typeTraits[t]
	return tr, ok
}

// Valid reports whether t is a ggml type that may appear in a file.
func (t Type) Valid() bool {
	_, ok := typeTraits[t]
	return ok
}

// String returns ggml's name for t ("Q4_K", "MXFP4"...), or "type(N)".
func (t Type) String() string {
	if tr, ok := typeTraits[t]; ok {
		return tr.Name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for plain types), 0
// for an unknown type.
func (t Type) BlockSize() int { return typeTraits[t].BlockSize }

// TypeSize is the number of bytes of one block, 0 for an unknown type.
func (t Type) TypeSize() int { return typeTraits[t].TypeSize }

// IsQuantized reports whether t stores elements in quantized blocks.
func (t Type) IsQuantized() bool { return typeTraits[t].Quantized }

// RowSize returns the bytes of a row of n elements. n must be a multiple of
// the block size; RowSize returns 0 otherwise or for an unknown type.
func (t Type) RowSize(n int64) int64 {
	tr, ok := typeTraits[t]
	if !ok || n%int64(tr.BlockSize) != 0 {
		return 0
	}
	return n / int64(tr.BlockSize) * int64(tr.TypeSize)
}

// ParseType returns the type named name (case-insensitive: "q4_k", "MXFP4").
func ParseType(name string) (Type, error) {
	for t, tr := range typeTraits {
		if strings.EqualFold(tr.Name, name) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown ggml type %q", name)
}

// Types lists every valid type in id order.
func Types() []Type {
	var ts []Type
	for t := Type(0); t < TypeCount; t++ {
		if t.Valid() {
			ts = append(ts, t)
		}
	}
	return ts
}
