package planner

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestGguftoolManifestKVType: a gguftool-runtime manifest records its KV
// cache's type (f16) and staging experts and decodes back with them; one
// written before kv_type existed (float32 cache) still decodes and its
// summary says float32.
func TestGguftoolManifestKVType(t *testing.T) {
	m := synthModel(t, "gpt-oss-20b", "q8_0", 4)
	vram, _ := ParseSize("2GiB")
	man, err := Plan(m, Options{VRAM: vram, Context: 4096, Reserve: -1, Runtime: RuntimeGguftool, AutoUBatch: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := man.Write(&buf); err != nil {
		t.Fatal(err)
	}
	js := buf.String()
	if !strings.Contains(js, `"kv_type": "f16"`) || !strings.Contains(js, `"staging_experts"`) {
		t.Fatalf("manifest lacks kv_type or staging_experts:\n%.2000s", js)
	}
	back, err := Decode(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if back.Gguftool == nil || back.Gguftool.KVType != "f16" || back.Budget.StagingExperts != man.Budget.StagingExperts || back.Budget.UBatch != man.Budget.UBatch {
		t.Fatalf("decoded %+v / %+v", back.Gguftool, back.Budget)
	}
	var sum bytes.Buffer
	if err := back.Summary(&sum); err != nil || !strings.Contains(sum.String(), "f16 (gguftool runtime)") {
		t.Fatalf("summary (%v):\n%s", err, sum.String())
	}
	oldJS := regexp.MustCompile(`,\s*"kv_type": "f16"`).ReplaceAllString(js, "")
	if oldJS == js {
		t.Fatal("could not remove kv_type")
	}
	old, err := Decode(strings.NewReader(oldJS))
	if err != nil {
		t.Fatalf("a manifest without kv_type: %v", err)
	}
	sum.Reset()
	if err := old.Summary(&sum); err != nil || !strings.Contains(sum.String(), "f32 (gguftool runtime)") {
		t.Fatalf("old manifest summary (%v):\n%s", err, sum.String())
	}
}
