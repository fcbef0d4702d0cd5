package planner

import (
	"strings"
	"testing"
)

// TestProfileErrorNamesFile: a profile that does not fit the model is
// reported with its file name (it said only "profile: layer 0 has ...").
func TestProfileErrorNamesFile(t *testing.T) {
	m := synthModel(t, "tiny-gpt-oss", "", 0)
	prof := &Profile{Schema: ProfileSchema, Layers: []LayerProfile{{Layer: 0, Counts: []int64{1, 2}}}}
	_, err := Plan(m, Options{VRAM: 1 << 30, PerExpert: true, Profile: prof, ProfilePath: "routing.json"})
	if err == nil || !strings.Contains(err.Error(), "routing.json: profile: layer 0 has 2 counts") {
		t.Fatalf("error %v, want one naming routing.json", err)
	}
}
