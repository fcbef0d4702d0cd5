package convert

import (
	"errors"
	"fmt"
	"math"
	"os"
	"unicode/utf8"
)

// A SentencePiece tokenizer.model is a serialized protobuf ModelProto
// (sentencepiece_model.proto). This is a small hand-written reader for the
// fields the converter and a tokenizer need; unknown fields are skipped, as
// protobuf requires, so newer models still load.

// Piece types of SentencePiece's ModelProto.SentencePiece.Type.
const (
	spNormal      = 1
	spUnknown     = 2
	spControl     = 3
	spUserDefined = 4
	spUnused      = 5
	spByte        = 6
)

// Model types of TrainerSpec.model_type.
const (
	spModelUnigram = 1
	spModelBPE     = 2
	spModelWord    = 3
	spModelChar    = 4
)

// spPiece is one vocabulary entry of a SentencePiece model.
type spPiece struct {
	Piece string
	Score float32
	Type  int32 // 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE
}

// spModel is the content of a tokenizer.model that matters for
// GGUF conversion and tokenization. Fields absent from the file hold
// protobuf's declared defaults.
type spModel struct {
	Pieces []spPiece

	// TrainerSpec
	ModelType    int32 // spModelUnigram (default), spModelBPE, ...
	VocabSize    int32 // as trained (8000 when absent)
	ByteFallback bool
	UnkID        int32 // default 0
	BosID        int32 // default 1
	EosID        int32 // default 2
	PadID        int32 // default -1 (none)

	// NormalizerSpec
	NormalizerName         string
	AddDummyPrefix         bool // default true
	RemoveExtraWhitespaces bool // default true
	EscapeWhitespaces      bool // default true
}

// readSentencePieceModel reads and checks a tokenizer.model file.
func readSentencePieceModel(path string) (*spModel, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := parseSentencePieceModel(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// maxSentencePieces bounds the vocabulary; each piece needs at least 2
// bytes on the wire, so the bound also follows from the input size.
const maxSentencePieces = 1 << 24

// parseSentencePieceModel decodes a serialized ModelProto and applies the
// checks SentencePieceProcessor does on load: every piece non-empty, valid
// UTF-8 and unique, exactly one UNKNOWN piece.
func parseSentencePieceModel(data []byte) (*spModel, error) {
	m := &spModel{
		ModelType: spModelUnigram, VocabSize: 8000,
		UnkID: 0, BosID: 1, EosID: 2, PadID: -1,
		AddDummyPrefix: true, RemoveExtraWhitespaces: true, EscapeWhitespaces: true,
	}
	r := pbReader{buf: data}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return nil, err
		}
		switch {
		case field == 1 && wire == pbBytes:
			msg, err := r.bytes()
			if err != nil {
				return nil, fmt.Errorf("piece %d: %w", len(m.Pieces), err)
			}
			if len(m.Pieces) >= maxSentencePieces {
				return nil, fmt.Errorf("more than %d pieces", maxSentencePieces)
			}
			p, err := parseSentencePiece(msg)
			if err != nil {
				return nil, fmt.Errorf("piece %d: %w", len(m.Pieces), err)
			}
			m.Pieces = append(m.Pieces, p)
		case field == 2 && wire == pbBytes:
			msg, err := r.bytes()
			if err == nil {
				err = m.parseTrainerSpec(msg)
			}
			if err != nil {
				return nil, fmt.Errorf("trainer_spec: %w", err)
			}
		case field == 3 && wire == pbBytes:
			msg, err := r.bytes()
			if err == nil {
				err = m.parseNormalizerSpec(msg)
			}
			if err != nil {
				return nil, fmt.Errorf("normalizer_spec: %w", err)
			}
		default:
			if err := r.skip(wire); err != nil {
				return nil, fmt.Errorf("field %d: %w", field, err)
			}
		}
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

func parseSentencePiece(msg []byte) (spPiece, error) {
	p := spPiece{Type: spNormal}
	r := pbReader{buf: msg}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return p, err
		}
		switch {
		case field == 1 && wire == pbBytes:
			b, err := r.bytes()
			if err != nil {
				return p, fmt.Errorf("piece: %w", err)
			}
			p.Piece = string(b)
		case field == 2 && wire == pbFixed32:
			v, err := r.fixed32()
			if err != nil {
				return p, fmt.Errorf("score: %w", err)
			}
			p.Score = math.Float32frombits(v)
		case field == 3 && wire == pbVarint:
			v, err := r.varint()
			if err != nil {
				return p, fmt.Errorf("type: %w", err)
			}
			if v < spNormal || v > spByte {
				return p, fmt.Errorf("type %d is not a SentencePiece piece type (1..6)", int64(v))
			}
			p.Type = int32(v)
		default:
			if err := r.skip(wire); err != nil {
				return p, fmt.Errorf("field %d: %w", field, err)
			}
		}
	}
	return p, nil
}

func (m *spModel) parseTrainerSpec(msg []byte) error {
	r := pbReader{buf: msg}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return err
		}
		var dst *int32
		switch field {
		case 3:
			dst = &m.ModelType
		case 4:
			dst = &m.VocabSize
		case 40:
			dst = &m.UnkID
		case 41:
			dst = &m.BosID
		case 42:
			dst = &m.EosID
		case 43:
			dst = &m.PadID
		case 35:
			if wire == pbVarint {
				v, err := r.varint()
				if err != nil {
					return fmt.Errorf("byte_fallback: %w", err)
				}
				m.ByteFallback = v != 0
				continue
			}
		}
		if dst != nil && wire == pbVarint {
			v, err := r.varint()
			if err != nil {
				return fmt.Errorf("field %d: %w", field, err)
			}
			*dst = int32(v) // int32 and enum fields are sign-extended varints
			continue
		}
		if err := r.skip(wire); err != nil {
			return fmt.Errorf("field %d: %w", field, err)
		}
	}
	return nil
}

func (m *spModel) parseNormalizerSpec(msg []byte) error {
	r := pbReader{buf: msg}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return err
		}
		switch {
		case field == 1 && wire == pbBytes:
			b, err := r.bytes()
			if err != nil {
				return fmt.Errorf("name: %w", err)
			}
			m.NormalizerName = string(b)
		case field >= 3 && field <= 5 && wire == pbVarint:
			v, err := r.varint()
			if err != nil {
				return fmt.Errorf("field %d: %w", field, err)
			}
			switch field {
			case 3:
				m.AddDummyPrefix = v != 0
			case 4:
				m.RemoveExtraWhitespaces = v != 0
			case 5:
				m.EscapeWhitespaces = v != 0
			}
		default:
			if err := r.skip(wire); err != nil {
				return fmt.Errorf("field %d: %w", field, err)
			}
		}
	}
	return nil
}

// check applies SentencePieceProcessor's load-time checks.
func (m *spModel) check() error {
	if len(m.Pieces) == 0 {
		return errors.New("no pieces: not a SentencePiece model")
	}
	seen := make(map[string]int, len(m.Pieces))
	unk := -1
	for i, p := range m.Pieces {
		if p.Piece == "" {
			return fmt.Errorf("piece %d is empty", i)
		}
		if !utf8.ValidString(p.Piece) {
			return fmt.Errorf("piece %d (%q) is not valid UTF-8", i, p.Piece)
		}
		if j, dup := seen[p.Piece]; dup {
			return fmt.Errorf("piece %d (%q) is already defined as piece %d", i, p.Piece, j)
		}
		seen[p.Piece] = i
		if p.Type == spUnknown {
			if unk >= 0 {
				return fmt.Errorf("pieces %d and %d are both UNKNOWN; a model has exactly one", unk, i)
			}
			unk = i
		}
	}
	if unk < 0 {
		return errors.New("no UNKNOWN piece; a SentencePiece model needs exactly one")
	}
	return nil
}

// Protobuf wire types.
const (
	pbVarint  = 0
	pbFixed64 = 1
	pbBytes   = 2
	pbGroupSt = 3
	pbGroupEn = 4
	pbFixed32 = 5
)

// pbReader decodes protobuf wire format from a byte slice; every read checks
// bounds, so truncated or hostile input yields an error, never a panic.
type pbReader struct {
	buf []byte
	off int
}

var errTruncated = errors.New("truncated protobuf data")

func (r *pbReader) done() bool { return r.off >= len(r.buf) }

func (r *pbReader) varint() (uint64, error) {
	start := r.off
	var v uint64
	// The 10th byte either ends the value (0 or 1) or overflows, so the loop
	// always returns.
	for i := 0; ; i++ {
		if r.off >= len(r.buf) {
			return 0, errTruncated
		}
		b := r.buf[r.off]
		r.off++
		if i == 9 && b > 1 {
			return 0, fmt.Errorf("varint at byte %d overflows 64 bits", start)
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, nil
		}
	}
}

func (r *pbReader) key() (field uint64, wire int, err error) {
	start := r.off
	k, err := r.varint()
	if err != nil {
		return 0, 0, fmt.Errorf("field key at byte %d: %w", start, err)
	}
	field, wire = k>>3, int(k&7)
	if field == 0 || field > 1<<29-1 {
		return 0, 0, fmt.Errorf("invalid field number %d at byte %d", field, start)
	}
	return field, wire, nil
}

func (r *pbReader) fixed32() (uint32, error) {
	if len(r.buf)-r.off < 4 {
		return 0, errTruncated
	}
	b := r.buf[r.off:]
	r.off += 4
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24, nil
}

func (r *pbReader) bytes() ([]byte, error) {
	start := r.off
	n, err := r.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.buf)-r.off) {
		return nil, fmt.Errorf("length %d at byte %d runs past the end of the data (%d bytes left)", n, start, len(r.buf)-r.off)
	}
	b := r.buf[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

func (r *pbReader) skip(wire int) error {
	switch wire {
	case pbVarint:
		_, err := r.varint()
		return err
	case pbFixed64:
		if len(r.buf)-r.off < 8 {
			return errTruncated
		}
		r.off += 8
		return nil
	case pbBytes:
		_, err := r.bytes()
		return err
	case pbFixed32:
		_, err := r.fixed32()
		return err
	}
	// Groups are deprecated and SentencePiece never writes them.
	return fmt.Errorf("unsupported protobuf wire type %d", wire)
}
