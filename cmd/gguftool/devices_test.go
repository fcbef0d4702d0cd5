package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestDevicesWithoutGPU runs on machines without an NVIDIA driver (CI): the
// command succeeds and says why there is no GPU.
func TestDevicesWithoutGPU(t *testing.T) {
	rep := listDevices()
	if len(rep.Devices) > 0 {
		t.Skip("a GPU is present")
	}
	if rep.Reason == "" {
		t.Fatal("no reason given")
	}
	var out bytes.Buffer
	printDevices(&out, rep)
	if !strings.HasPrefix(out.String(), "no GPU: ") {
		t.Errorf("output %q", out.String())
	}
	root := newRootCmd()
	var js bytes.Buffer
	root.SetOut(&js)
	root.SetArgs([]string{"devices", "--json"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var got devicesReport
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, js.String())
	}
	if got.Devices == nil || got.Reason != rep.Reason {
		t.Errorf("json %s", js.String())
	}
}
