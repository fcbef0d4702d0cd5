package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/internal/atomicfile"
)

const quantFixtures = "../../testdata/fixtures/quant"

// quantizeCLI runs gguftool in-process and returns stdout, the exit code
// and the error.
func quantizeCLI(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil {
		return out.String(), exitCode(err), err
	}
	return out.String(), exitOK, nil
}

func goldenSHA(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(quantFixtures, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g.SHA256
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestQuantizeCLIGoldens runs the command for a preset and a --pure type
// and compares the whole output with llama-quantize's.
func TestQuantizeCLIGoldens(t *testing.T) {
	in := filepath.Join(quantFixtures, "model-f32.gguf")
	dir := t.TempDir()
	for _, c := range []struct {
		args   []string
		golden string
	}{
		{[]string{"Q3_K_M"}, "presets-Q3_K_M.gguf"},
		{[]string{"--pure", "q5_1"}, "pure-Q5_1.gguf"},
		{[]string{"-t", "3", "MXFP4_MOE"}, "presets-MXFP4_MOE.gguf"},
	} {
		out := filepath.Join(dir, c.golden)
		args := append([]string{"quantize", in, out}, c.args...)
		if _, code, err := quantizeCLI(t, args...); code != exitOK {
			t.Fatalf("%v: exit %d: %v", args, code, err)
		}
		if got, want := fileSHA(t, out), goldenSHA(t, c.golden); got != want {
			t.Errorf("%s: sha256 %s, llama-quantize %s", c.golden, got, want)
		}
	}
}

func TestQuantizeCLIErrors(t *testing.T) {
	in := filepath.Join(quantFixtures, "model-f32.gguf")
	dir := t.TempDir()
	out := filepath.Join(dir, "out.gguf")
	if _, code, err := quantizeCLI(t, "quantize", in, out, "Q9_K"); code != exitUsage || !strings.Contains(err.Error(), "Q9_K") {
		t.Errorf("unknown type: exit %d, %v", code, err)
	}
	if _, code, err := quantizeCLI(t, "quantize", "--experts", "iq2_xxs", in, out, "Q4_K_M"); code != exitUsage {
		t.Errorf("--experts iq2_xxs: exit %d, %v", code, err)
	}
	if _, code, err := quantizeCLI(t, "quantize", "--tensor-type", "attn", in, out, "Q4_K_M"); code != exitUsage {
		t.Errorf("--tensor-type without =: exit %d, %v", code, err)
	}
	if _, code, _ := quantizeCLI(t, "quantize", in, out); code != exitUsage {
		t.Errorf("two args without --dry-run: exit %d", code)
	}
	if _, code, err := quantizeCLI(t, "quantize", in, in, "Q8_0", "--force"); code != exitUsage {
		t.Errorf("output = input: exit %d, %v", code, err)
	}
	if _, code, err := quantizeCLI(t, "quantize", filepath.Join(dir, "missing.gguf"), out, "Q8_0"); code != exitError || !strings.Contains(err.Error(), "missing.gguf") {
		t.Errorf("missing input: exit %d, %v", code, err)
	}
	if _, code, err := quantizeCLI(t, "quantize", in, out, "Q8_0"); code != exitOK {
		t.Fatalf("exit %d, %v", code, err)
	}
	if _, code, err := quantizeCLI(t, "quantize", in, out, "Q8_0"); code != exitError || !errors.Is(err, atomicfile.ErrExists) {
		t.Errorf("existing output: exit %d, %v", code, err)
	}
	if _, code, err := quantizeCLI(t, "quantize", "--force", in, out, "Q8_0"); code != exitOK {
		t.Errorf("--force: exit %d, %v", code, err)
	}
	// A quantized input needs --allow-requantize; nothing is left behind.
	out2 := filepath.Join(dir, "requant.gguf")
	if _, code, err := quantizeCLI(t, "quantize", out, out2, "Q4_K_M"); code != exitError || !strings.Contains(err.Error(), "--allow-requantize") {
		t.Errorf("requantize: exit %d, %v", code, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left in %s: %d", dir, len(entries))
	}
	if _, code, err := quantizeCLI(t, "quantize", "--allow-requantize", out, out2, "Q4_K_M"); code != exitOK {
		t.Errorf("--allow-requantize: exit %d, %v", code, err)
	}
}

func TestQuantizeCLIReportAndDryRun(t *testing.T) {
	in := filepath.Join(quantFixtures, "model-f32.gguf")
	dir := t.TempDir()
	stdout, code, err := quantizeCLI(t, "quantize", "--dry-run", "--json", in, "Q4_K_M")
	if code != exitOK {
		t.Fatalf("dry-run: %d %v", code, err)
	}
	var plan struct {
		Tensors []struct {
			Name    string `json:"name"`
			TypeOut string `json:"type_out"`
		} `json:"tensors"`
		BytesOut int64 `json:"bytes_out"`
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Tensors) != 25 || plan.Tensors[0].Name != "output.weight" || plan.Tensors[0].TypeOut != "Q6_K" {
		t.Errorf("dry-run plan: %+v", plan.Tensors[:1])
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Error("dry run wrote files")
	}
	out := filepath.Join(dir, "r.gguf")
	stdout, code, err = quantizeCLI(t, "quantize", "--report", "--json", "--experts", "q4_k", "--dense", "q8_0", in, out, "Q4_K_M")
	if code != exitOK {
		t.Fatalf("report: %d %v", code, err)
	}
	var rep struct {
		Tensors []struct {
			Name      string  `json:"name"`
			TypeIn    string  `json:"type_in"`
			TypeOut   string  `json:"type_out"`
			Converted bool    `json:"converted"`
			RMSE      float64 `json:"rmse"`
			MaxAbsErr float64 `json:"max_abs_err"`
		} `json:"tensors"`
		BytesIn  int64   `json:"bytes_in"`
		BytesOut int64   `json:"bytes_out"`
		RMSE     float64 `json:"rmse"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, tr := range rep.Tensors {
		if tr.Converted && (tr.RMSE <= 0 || tr.MaxAbsErr < tr.RMSE) {
			t.Errorf("%s: rmse %g max %g", tr.Name, tr.RMSE, tr.MaxAbsErr)
		}
		if strings.Contains(tr.Name, "_exps") && tr.TypeOut != "Q4_K" || strings.Contains(tr.Name, "attn_q") && tr.TypeOut != "Q8_0" {
			t.Errorf("%s: %s", tr.Name, tr.TypeOut)
		}
	}
	st, _ := os.Stat(out)
	if st == nil || st.Size() < rep.BytesOut || rep.RMSE <= 0 {
		t.Errorf("report totals: %+v", rep)
	}
}

// TestQuantizeConvertedGptOss runs convert then quantize on the gpt-oss
// fixture: MXFP4_MOE copies the checkpoint's MXFP4 experts byte for byte
// and makes every other 2-D weight Q8_0; Q4_K_M refuses the MXFP4 experts
// without --allow-requantize (llama-quantize does the same).
func TestQuantizeConvertedGptOss(t *testing.T) {
	dir := t.TempDir()
	f16 := filepath.Join(dir, "gpt-oss-f16.gguf")
	if _, code, err := quantizeCLI(t, "convert", "../../testdata/fixtures/gpt-oss", "-o", f16, "--outtype", "f16"); code != exitOK {
		t.Fatalf("convert: exit %d: %v", code, err)
	}
	out := filepath.Join(dir, "gpt-oss-MXFP4_MOE.gguf")
	if _, code, err := quantizeCLI(t, "quantize", f16, out, "MXFP4_MOE"); code != exitOK {
		t.Fatalf("quantize: exit %d: %v", code, err)
	}
	src, err := gguf.Open(f16)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if ft, _ := dst.Metadata.Uint32(gguf.KeyFileType); ft != 38 {
		t.Errorf("file_type %d, want 38", ft)
	}
	experts := 0
	for i := range dst.Tensors {
		ti := &dst.Tensors[i]
		in, _ := src.Tensor(ti.Name)
		switch {
		case !strings.HasSuffix(ti.Name, ".weight"): // biases are never touched
			if ti.Type != in.Type || !bytes.Equal(dst.Data(ti), src.Data(in)) {
				t.Errorf("%s: changed", ti.Name)
			}
		case ti.IsExperts():
			experts++
			if ti.Type != gguf.TypeMXFP4 || !bytes.Equal(dst.Data(ti), src.Data(in)) {
				t.Errorf("%s: %s, not the source's MXFP4 bytes", ti.Name, ti.Type)
			}
		case len(ti.Dims) >= 2 && !strings.Contains(ti.Name, "gate_inp") && !strings.HasSuffix(ti.Name, "_norm.weight"):
			if ti.Type != gguf.TypeQ8_0 {
				t.Errorf("%s: %s, want Q8_0", ti.Name, ti.Type)
			}
		default:
			if ti.Type != in.Type {
				t.Errorf("%s: %s, want it unchanged (%s)", ti.Name, ti.Type, in.Type)
			}
		}
	}
	if experts == 0 {
		t.Error("no expert tensors")
	}
	_, code, err := quantizeCLI(t, "quantize", f16, filepath.Join(dir, "q4.gguf"), "Q4_K_M")
	if code != exitError || !strings.Contains(err.Error(), "MXFP4") || !strings.Contains(err.Error(), "--allow-requantize") {
		t.Errorf("Q4_K_M of MXFP4 experts: exit %d, %v", code, err)
	}
}
