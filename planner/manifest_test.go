package planner

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func planFor(t testing.TB, preset string, perExpert bool, extra int64) (*Model, *Manifest) {
	t.Helper()
	m := synthModel(t, preset, "f16", 0)
	o := Options{Context: 1024, FlashAttn: true, Reserve: 0, PerExpert: perExpert}
	var inf *InfeasibleError
	if _, err := Plan(m, o); !errors.As(err, &inf) {
		t.Fatal(err)
	}
	o.VRAM = inf.Min + extra
	man, err := Plan(m, o)
	if err != nil {
		t.Fatal(err)
	}
	return m, man
}

// TestManifestRoundTrip writes a manifest with slices, reads it back with
// Decode and checks it is identical and still matches the model.
func TestManifestRoundTrip(t *testing.T) {
	m, man := planFor(t, "tiny-gpt-oss", true, 300_000)
	slices := 0
	for _, p := range man.Tensors {
		if p.Expert != nil {
			slices++
		}
	}
	if slices == 0 {
		t.Fatal("want a plan with expert slices")
	}
	var buf bytes.Buffer
	if err := man.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	back.Write(&again)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("manifest changed in a write/read cycle")
	}
	if err := back.CheckModel(m); err != nil {
		t.Error(err)
	}
	if !strings.Contains(buf.String(), `"schema": "gguftool.plan/v1"`) || !strings.Contains(buf.String(), `"expert": `) {
		t.Error("JSON lacks the schema or expert fields")
	}
}

// TestManifestRejectsBadInput edits a valid manifest in ways a runtime
// must not accept and checks that Decode or CheckModel refuses each one
// with a message naming the problem.
func TestManifestRejectsBadInput(t *testing.T) {
	m, man := planFor(t, "tiny-gpt-oss", true, 300_000)
	var buf bytes.Buffer
	man.Write(&buf)
	orig := buf.Bytes()
	edit := func(f func(x map[string]any)) []byte {
		var x map[string]any
		json.Unmarshal(orig, &x)
		f(x)
		b, _ := json.Marshal(x)
		return b
	}
	tensors := func(x map[string]any) []any { return x["tensors"].([]any) }
	dev := func(x map[string]any, i int) map[string]any { return x["devices"].([]any)[i].(map[string]any) }
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"schema", "schema", edit(func(x map[string]any) { x["schema"] = "gguftool.plan/v0" })},
		{"offsets", "offsets", edit(func(x map[string]any) { x["offsets"] = "data" })},
		{"unknown field", "unknown field", edit(func(x map[string]any) { x["extra"] = 1 })},
		{"device kind", "kind", edit(func(x map[string]any) { dev(x, 0)["kind"] = "tpu" })},
		{"total", "not the sum", edit(func(x map[string]any) { dev(x, 0)["total_bytes"] = 1.0 })},
		{"over budget", "exceeds the VRAM budget", edit(func(x map[string]any) {
			x["budget"].(map[string]any)["vram_bytes"] = 1.0
		})},
		{"unknown device", "unknown device", edit(func(x map[string]any) { tensors(x)[0].(map[string]any)["device"] = "CUDA7" })},
		{"overlap", "overlap", edit(func(x map[string]any) {
			a, b := tensors(x)[0].(map[string]any), tensors(x)[1].(map[string]any)
			b["offset"] = a["offset"]
		})},
		{"weights sum", "weights_bytes", edit(func(x map[string]any) {
			t0 := tensors(x)[0].(map[string]any)
			if t0["device"] == "CPU" {
				t0["device"] = "CUDA0"
			} else {
				t0["device"] = "CPU"
			}
		})},
	}
	for _, c := range cases {
		_, err := Decode(bytes.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	// Against the model: a dropped tensor, a foreign one, a wrong slice.
	drop := *man
	drop.Tensors = man.Tensors[1:]
	if err := drop.CheckModel(m); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "not placed") {
		t.Errorf("dropped tensor: %v", err)
	}
	extra := *man
	extra.Tensors = append(append([]Placement(nil), man.Tensors...), Placement{Name: "blk.99.x", Device: "CPU", Offset: 1 << 40, Size: 1})
	if err := extra.CheckModel(m); !errors.Is(err, ErrMismatch) {
		t.Errorf("foreign tensor: %v", err)
	}
	bad := *man
	bad.Tensors = append([]Placement(nil), man.Tensors...)
	for i, p := range bad.Tensors {
		if p.Expert != nil {
			e := *p.Expert + 1
			bad.Tensors[i].Expert = &e
			break
		}
	}
	if err := bad.CheckModel(m); !errors.Is(err, ErrMismatch) {
		t.Errorf("shifted slice: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"2GiB": 2 << 30, "1.5GB": 1_500_000_000, "512MiB": 512 << 20, "3G": 3 << 30, "0": 0,
		"1073741824": 1 << 30, "80 GiB": 80 << 30, "4gib": 4 << 30, "100MB": 100_000_000, "1.5 TiB": 3 << 39,
	}
	for s, want := range good {
		got, err := ParseSize(s)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"-1", "2XB", "", "GiB", "1e3", "1..5GB", "NaN", "inf", "99999999999999TiB", "2 G B"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) accepted", s)
		}
	}
}

func TestProfileChecks(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"schema":"x","layers":[]}`, "schema"},
		{`{"schema":"gguftool.profile/v1","layers":[{"layer":0,"counts":[1,2]}]}`, "counts"},
		{`{"schema":"gguftool.profile/v1","layers":[{"layer":9,"counts":[1,2,3,4,5,6,7,8]}]}`, "out of range"},
		{`{"schema":"gguftool.profile/v1","layers":[{"layer":0,"counts":[1,2,3,4,5,6,7,-8]}]}`, "negative"},
		{`{"schema":"gguftool.profile/v1","layers":[{"layer":1,"counts":[1,1,1,1,1,1,1,1]},{"layer":1,"counts":[1,1,1,1,1,1,1,1]}]}`, "twice"},
	} {
		p, err := DecodeProfile(strings.NewReader(c.json))
		if err == nil {
			err = p.check(3, 8)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.json, err, c.want)
		}
	}
}

func FuzzDecodeManifest(f *testing.F) {
	_, man := planFor(f, "tiny-deepseek-moe", true, 200_000)
	var buf bytes.Buffer
	man.Write(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema":"gguftool.plan/v1","offsets":"file","devices":[],"tensors":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(bytes.NewReader(b))
		if err == nil {
			if err := m.Validate(); err != nil {
				t.Fatalf("Decode accepted what Validate refuses: %v", err)
			}
		}
	})
}
