package convert

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// pbWriter is a minimal protobuf encoder for building test models.
type pbWriter struct{ b []byte }

func (w *pbWriter) varint(v uint64)     { w.b = binary.AppendUvarint(w.b, v) }
func (w *pbWriter) key(field, wire int) { w.varint(uint64(field)<<3 | uint64(wire)) }
func (w *pbWriter) bytesField(field int, b []byte) {
	w.key(field, pbBytes)
	w.varint(uint64(len(b)))
	w.b = append(w.b, b...)
}
func (w *pbWriter) varintField(field int, v uint64) { w.key(field, pbVarint); w.varint(v) }
func (w *pbWriter) fixed32Field(field int, v uint32) {
	w.key(field, pbFixed32)
	w.b = binary.LittleEndian.AppendUint32(w.b, v)
}

// encodeSentencePieceModel serializes m as a ModelProto, every field explicit.
func encodeSentencePieceModel(m *spModel) []byte {
	var out pbWriter
	for _, p := range m.Pieces {
		var pw pbWriter
		pw.bytesField(1, []byte(p.Piece))
		pw.fixed32Field(2, math.Float32bits(p.Score))
		pw.varintField(3, uint64(int64(p.Type)))
		out.bytesField(1, pw.b)
	}
	var ts pbWriter
	ts.varintField(3, uint64(int64(m.ModelType)))
	ts.varintField(4, uint64(int64(m.VocabSize)))
	ts.varintField(35, b2u(m.ByteFallback))
	ts.varintField(40, uint64(int64(m.UnkID)))
	ts.varintField(41, uint64(int64(m.BosID)))
	ts.varintField(42, uint64(int64(m.EosID)))
	ts.varintField(43, uint64(int64(m.PadID))) // negative: 10-byte varint
	out.bytesField(2, ts.b)
	var ns pbWriter
	ns.bytesField(1, []byte(m.NormalizerName))
	ns.varintField(3, b2u(m.AddDummyPrefix))
	ns.varintField(4, b2u(m.RemoveExtraWhitespaces))
	ns.varintField(5, b2u(m.EscapeWhitespaces))
	out.bytesField(3, ns.b)
	return out.b
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func TestSentencePieceFixtureModel(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "fixtures", "phimoe")
	m, err := readSentencePieceModel(filepath.Join(dir, "tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pieces) != 1000 {
		t.Fatalf("%d pieces, want 1000", len(m.Pieces))
	}
	if m.ModelType != spModelBPE || !m.ByteFallback || m.UnkID != 0 || m.BosID != 1 || m.EosID != 2 {
		t.Errorf("trainer spec: type %d byte_fallback %v unk/bos/eos %d/%d/%d", m.ModelType, m.ByteFallback, m.UnkID, m.BosID, m.EosID)
	}
	head := []spPiece{{"<unk>", 0, spUnknown}, {"<s>", 0, spControl}, {"</s>", 0, spControl}, {"<0x00>", 0, spByte}}
	if !reflect.DeepEqual(m.Pieces[:4], head) {
		t.Errorf("first pieces %+v, want %+v", m.Pieces[:4], head)
	}
	// transformers derived tokenizer.json from this model: its vocabulary must
	// give every piece the same id.
	tok, err := readTokenizerJSON(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vocab map[string]int
	if err := json.Unmarshal(tok.Model.Vocab, &vocab); err != nil {
		t.Fatal(err)
	}
	if len(vocab) != len(m.Pieces) {
		t.Errorf("tokenizer.json has %d tokens, tokenizer.model %d pieces", len(vocab), len(m.Pieces))
	}
	for i, p := range m.Pieces {
		if id, ok := vocab[p.Piece]; !ok || id != i {
			t.Errorf("piece %d %q: tokenizer.json id %d (present %v)", i, p.Piece, id, ok)
		}
	}
	// Round trip through our encoder.
	again, err := parseSentencePieceModel(encodeSentencePieceModel(m))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, again) {
		t.Error("re-encoded model differs")
	}
}

// cat concatenates into a new slice (append on a shared prefix would let the
// cases overwrite each other).
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestSentencePieceAgainstLibrary compares the reader with SentencePiece
// itself on models trained by spm_train with different options (BPE with
// byte fallback, user-defined and control symbols, a normalization charsmap;
// unigram with custom special ids): every piece, score and the token type
// llama.cpp derives from SentencePieceProcessor (testdata/tokenizers/spm).
func TestSentencePieceAgainstLibrary(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "tokenizers", "spm")
	for _, name := range []string{"bpe_bytefallback", "unigram_identity"} {
		t.Run(name, func(t *testing.T) {
			m, err := readSentencePieceModel(filepath.Join(dir, name+".model"))
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, name+".expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				UnkID  int32    `json:"unk_id"`
				BosID  int32    `json:"bos_id"`
				EosID  int32    `json:"eos_id"`
				PadID  int32    `json:"pad_id"`
				Pieces [][3]any `json:"pieces"`
			}
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.UseNumber()
			if err := dec.Decode(&want); err != nil {
				t.Fatal(err)
			}
			if got := [4]int32{m.UnkID, m.BosID, m.EosID, m.PadID}; got != [4]int32{want.UnkID, want.BosID, want.EosID, want.PadID} {
				t.Errorf("unk/bos/eos/pad ids %v, SentencePiece says %v", got, [4]int32{want.UnkID, want.BosID, want.EosID, want.PadID})
			}
			if len(m.Pieces) != len(want.Pieces) {
				t.Fatalf("%d pieces, SentencePiece has %d", len(m.Pieces), len(want.Pieces))
			}
			for i, w := range want.Pieces {
				p := m.Pieces[i]
				score, _ := w[1].(json.Number).Float64()
				typ, _ := w[2].(json.Number).Int64()
				if p.Piece != w[0] || float64(p.Score) != score || int64(spTokenType(p.Type)) != typ {
					t.Errorf("piece %d: %q %v type %d, SentencePiece: %q %v type %d", i, p.Piece, p.Score, spTokenType(p.Type), w[0], score, typ)
				}
			}
		})
	}
}

func validTestModel() *spModel {
	return &spModel{
		Pieces:    []spPiece{{"<unk>", 0, spUnknown}, {"<s>", 0, spControl}, {"▁a", -1.5, spNormal}, {"<0x41>", 0, spByte}},
		ModelType: spModelBPE, VocabSize: 4, ByteFallback: true, UnkID: 0, BosID: 1, EosID: 2, PadID: -1,
		NormalizerName: "identity", AddDummyPrefix: true, RemoveExtraWhitespaces: false, EscapeWhitespaces: true,
	}
}

func TestSentencePieceDefaults(t *testing.T) {
	// Only pieces on the wire: the specs take protobuf's declared defaults.
	var w pbWriter
	var p pbWriter
	p.bytesField(1, []byte("<unk>"))
	p.varintField(3, spUnknown)
	w.bytesField(1, p.b)
	var q pbWriter
	q.bytesField(1, []byte("x")) // no score, no type: 0.0 and NORMAL
	w.bytesField(1, q.b)
	m, err := parseSentencePieceModel(w.b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Pieces[1] != (spPiece{"x", 0, spNormal}) || m.ModelType != spModelUnigram || m.PadID != -1 || !m.AddDummyPrefix {
		t.Errorf("defaults not applied: %+v", m)
	}
}

func TestSentencePieceHostileInput(t *testing.T) {
	good := encodeSentencePieceModel(validTestModel())
	if _, err := parseSentencePieceModel(good); err != nil {
		t.Fatal(err)
	}
	piece := func(fields func(w *pbWriter)) []byte {
		var p, w pbWriter
		fields(&p)
		w.bytesField(1, p.b)
		return w.b
	}
	unk := piece(func(w *pbWriter) { w.bytesField(1, []byte("<unk>")); w.varintField(3, spUnknown) })
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no pieces"},
		{"length past end", []byte{0x0a, 0xff, 0xff, 0x03, 0x01}, "runs past the end"},
		{"truncated varint", []byte{0x0a, 0x80}, "truncated"},
		{"11-byte varint", []byte{0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, "overflows"},
		{"varint overflow", append([]byte{0x08}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), "overflows"},
		{"field zero", []byte{0x00, 0x01}, "invalid field number 0"},
		{"group", cat(unk, []byte{0x0b}), "wire type 3"},
		{"truncated fixed32", cat(unk, piece(func(w *pbWriter) { w.key(2, pbFixed32); w.b = append(w.b, 1, 2) })), "truncated"},
		{"bad piece type", cat(unk, piece(func(w *pbWriter) { w.bytesField(1, []byte("a")); w.varintField(3, 9) })), "type 9"},
		{"empty piece", cat(unk, piece(func(w *pbWriter) { w.varintField(3, 1) })), "is empty"},
		{"duplicate piece", cat(unk, piece(func(w *pbWriter) { w.bytesField(1, []byte("<unk>")) })), "already defined"},
		{"invalid UTF-8", cat(unk, piece(func(w *pbWriter) { w.bytesField(1, []byte{0xff}) })), "not valid UTF-8"},
		{"no unknown", piece(func(w *pbWriter) { w.bytesField(1, []byte("a")) }), "no UNKNOWN"},
		{"two unknown", cat(unk, piece(func(w *pbWriter) { w.bytesField(1, []byte("b")); w.varintField(3, spUnknown) })), "both UNKNOWN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseSentencePieceModel(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
	// Every truncation of a valid model either fails cleanly or (when it cuts
	// between top-level fields) parses a prefix of it.
	for n := range len(good) {
		if _, err := parseSentencePieceModel(good[:n]); err == nil && n < 10 {
			t.Errorf("truncation to %d bytes accepted", n)
		}
	}
}

// FuzzParseSentencePieceModel: arbitrary bytes never panic, and whatever
// parses survives a round trip through the encoder unchanged.
func FuzzParseSentencePieceModel(f *testing.F) {
	f.Add(encodeSentencePieceModel(validTestModel()))
	if data, err := os.ReadFile(filepath.Join(repoRoot(f), "testdata", "fixtures", "phimoe", "tokenizer.model")); err == nil {
		f.Add(data[:min(len(data), 4096)])
	}
	f.Add([]byte{0x0a, 0x07, 0x0a, 0x05, '<', 'u', 'n', 'k', '>'})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseSentencePieceModel(data)
		if err != nil {
			if m != nil {
				t.Fatal("model returned with an error")
			}
			return
		}
		again, err := parseSentencePieceModel(encodeSentencePieceModel(m))
		if err != nil {
			t.Fatalf("re-encoded model does not parse: %v", err)
		}
		if len(again.Pieces) != len(m.Pieces) {
			t.Fatalf("round trip changed the piece count")
		}
		for i := range m.Pieces {
			a, b := m.Pieces[i], again.Pieces[i]
			if a.Piece != b.Piece || a.Type != b.Type || math.Float32bits(a.Score) != math.Float32bits(b.Score) {
				t.Fatalf("piece %d: %+v became %+v", i, a, b)
			}
		}
		a, b := *m, *again
		a.Pieces, b.Pieces = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("specs changed: %+v became %+v", a, b)
		}
	})
}
