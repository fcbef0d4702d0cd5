package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime/npy"
	"github.com/gguftool/gguftool/runtime/tokenizer"
)

type runFixtureRef struct {
	PromptText         string  `json:"prompt_text"`
	PromptIDs          []int32 `json:"prompt_ids"`
	GreedyContinuation []int32 `json:"greedy_continuation"`
}

func idList(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

// TestRunFixtures drives `gguftool convert` and `gguftool run` end to end on
// every fixture: --tokens with --logits-out reproduces transformers' logits,
// --temp 0 reproduces the greedy continuation, and -p TEXT tokenizes to the
// reference prompt ids.
func TestRunFixtures(t *testing.T) {
	for _, fam := range []string{"gpt-oss", "phimoe", "deepseek-moe", "deepseek-v2-lite"} {
		t.Run(fam, func(t *testing.T) {
			dir := t.TempDir()
			model := filepath.Join(dir, "model.gguf")
			if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, fam), "-o", model, "--outtype", "f32"); code != exitOK {
				t.Fatalf("convert: exit %d: %s", code, stderr)
			}
			var ref runFixtureRef
			b, _ := os.ReadFile(filepath.Join(fixturesDir, fam, "reference.json"))
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			logitsPath := filepath.Join(dir, "logits.npy")
			n := len(ref.GreedyContinuation)
			stdout, stderr, code := runCLI(t, "run", model, "--tokens", idList(ref.PromptIDs), "--temp", "0",
				"-n", strconv.Itoa(n), "--json", "--logits-out", logitsPath)
			if code != exitOK {
				t.Fatalf("run: exit %d: %s", code, stderr)
			}
			var res runResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("run --json: %v\n%s", err, stdout)
			}
			if res.PromptTokens != len(ref.PromptIDs) || res.GeneratedTokens != len(res.GeneratedIDs) || res.GeneratedTokens > n {
				t.Errorf("counts: prompt %d generated %d ids %d", res.PromptTokens, res.GeneratedTokens, len(res.GeneratedIDs))
			}
			// Generation may stop early at an end-of-generation token; what
			// was generated must be the reference's prefix.
			for i, id := range res.GeneratedIDs {
				if id != ref.GreedyContinuation[i] {
					t.Fatalf("generated %v, want %v", res.GeneratedIDs, ref.GreedyContinuation)
				}
			}
			if res.TTFTms <= 0 || res.PrefillTokensPerS <= 0 || res.PeakRSSBytes <= 0 {
				t.Errorf("timings not measured: %+v", res)
			}
			got, err := npy.ReadFile(logitsPath)
			if err != nil {
				t.Fatal(err)
			}
			want, err := npy.ReadFile(filepath.Join(fixturesDir, fam, "reference_logits.npy"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Shape) != 2 || got.Shape[0] != want.Shape[0] || got.Shape[1] != want.Shape[1] {
				t.Fatalf("logits shape %v, want %v", got.Shape, want.Shape)
			}
			var maxDiff float64
			for i := range want.Data {
				maxDiff = math.Max(maxDiff, math.Abs(float64(got.Data[i]-want.Data[i])))
			}
			if maxDiff > 1e-3 {
				t.Errorf("--logits-out differs from the reference by %.3g", maxDiff)
			}

			// Text prompt: the tokenizer must give the reference ids.
			stdout, stderr, code = runCLI(t, "run", model, "-p", ref.PromptText, "--temp", "0", "-n", "2", "--json")
			if code != exitOK {
				t.Fatalf("run -p: exit %d: %s", code, stderr)
			}
			res = runResult{}
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatal(err)
			}
			// reference.json keeps the first 24 ids of the prompt's encoding.
			if len(res.PromptIDs) < len(ref.PromptIDs) || idList(res.PromptIDs[:len(ref.PromptIDs)]) != idList(ref.PromptIDs) {
				t.Errorf("-p tokenized to %v, want it to start with %v", res.PromptIDs, ref.PromptIDs)
			}

			// Streaming text mode prints the prompt and the continuation.
			stdout, stderr, code = runCLI(t, "run", model, "-p", "Hello", "--temp", "0.8", "--seed", "1", "-n", "4")
			if code != exitOK || !strings.HasPrefix(stdout, "Hello") {
				t.Errorf("streaming run: exit %d, stdout %q, stderr %s", code, stdout, stderr)
			}
			// The same seed gives the same tokens.
			a, _, _ := runCLI(t, "run", model, "-p", "Hello", "--temp", "0.8", "--seed", "7", "-n", "6", "--json")
			c, _, _ := runCLI(t, "run", model, "-p", "Hello", "--temp", "0.8", "--seed", "7", "-n", "6", "--json")
			var ra, rc runResult
			json.Unmarshal([]byte(a), &ra)
			json.Unmarshal([]byte(c), &rc)
			if idList(ra.GeneratedIDs) != idList(rc.GeneratedIDs) || len(ra.GeneratedIDs) == 0 {
				t.Errorf("seeded sampling not reproducible: %v vs %v", ra.GeneratedIDs, rc.GeneratedIDs)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.gguf")
	if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, "deepseek-moe"), "-o", model, "--outtype", "q8_0"); code != exitOK {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	existing := filepath.Join(dir, "exists.npy")
	os.WriteFile(existing, []byte("x"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", model}, exitUsage, "exactly one of"},
		{[]string{"run", model, "-p", "x", "--tokens", "1"}, exitUsage, "exactly one of"},
		{[]string{"run", model, "--tokens", "1,abc"}, exitUsage, "not a token id"},
		{[]string{"run", model, "--tokens", "1,99999"}, exitError, "outside the model's vocabulary"},
		{[]string{"run", model, "--tokens", "1", "--logits-out", existing}, exitError, "already exists"},
		{[]string{"run", filepath.Join(dir, "missing.gguf"), "--tokens", "1"}, exitError, "missing.gguf"},
		{[]string{"run", filepath.Join(fixturesDir, "deepseek-moe", "config.json"), "--tokens", "1"}, exitError, "config.json"},
		{[]string{"run", model, "--tokens", "1", "--plan", filepath.Join(dir, "nope.json")}, exitError, "nope.json"},
	} {
		_, stderr, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", tc.args[2:], code, tc.code, stderr, tc.msg)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "x" {
		t.Error("existing --logits-out file was modified")
	}
}

// TestRunWithPlan runs under a planner manifest that puts weights on a GPU:
// without a GPU this must fail and say why; the routing profile a run
// records is accepted by the planner.
func TestRunWithPlan(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.gguf")
	if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, "deepseek-moe"), "-o", model, "--outtype", "f32"); code != exitOK {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	plan := filepath.Join(dir, "plan.json")
	if _, stderr, code := runCLI(t, "plan", model, "--vram", "64MiB", "--reserve", "0", "--ctx", "64", "-o", plan); code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	// Without a usable GPU a GPU plan fails and says why (this machine has
	// none in CI), unless --cpu-fallback asks for the CPU runtime.
	if _, err := os.Stat("/dev/nvidia0"); err != nil {
		_, stderr, code := runCLI(t, "run", model, "--tokens", "1,2,3", "-n", "1", "--plan", plan)
		if code != exitError || !strings.Contains(stderr, "no usable GPU") {
			t.Errorf("GPU plan without CUDA: exit %d, %q", code, stderr)
		}
		if _, stderr, code := runCLI(t, "run", model, "--tokens", "1,2,3", "-n", "1", "--temp", "0", "--plan", plan, "--cpu-fallback"); code != exitOK {
			t.Errorf("--cpu-fallback: exit %d, %q", code, stderr)
		}
	}
	prof := filepath.Join(dir, "profile.json")
	stdout, stderr, code := runCLI(t, "run", model, "--tokens", "1,2,3", "-n", "2", "--temp", "0", "--profile-out", prof, "--json")
	if code != exitOK {
		t.Fatalf("profile: exit %d: %s %s", code, stderr, stdout)
	}
	if _, stderr, code := runCLI(t, "plan", model, "--vram", "20MiB", "--reserve", "0", "--ctx", "64", "--per-expert", "--profile", prof); code != exitOK && code != exitInfeasible {
		t.Errorf("plan --profile with the recorded profile: exit %d: %s", code, stderr)
	}
}

// TestRunChat checks --chat against the chat renders transformers'
// apply_chat_template gives for the fixtures' templates
// (runtime/tokenizer/testdata/chat_expected.json): the prompt ids are
// those of the expected text, with BOS written once (by the template).
func TestRunChat(t *testing.T) {
	b, err := os.ReadFile("../../runtime/tokenizer/testdata/chat_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Template string `json:"template"`
		Messages []struct {
			Role, Content string
		} `json:"messages"`
		AddGenerationPrompt bool   `json:"add_generation_prompt"`
		Expected            string `json:"expected"`
	}
	json.Unmarshal(b, &cases)
	want := map[string]string{}
	for _, c := range cases {
		if len(c.Messages) == 1 && c.Messages[0].Role == "user" && c.Messages[0].Content == "Hello!" && c.AddGenerationPrompt {
			want[c.Template] = c.Expected
		}
	}
	for _, fam := range []string{"gpt-oss", "deepseek-moe", "deepseek-v2-lite"} {
		exp, ok := want[fam+"-fixture"]
		if !ok {
			t.Fatalf("no expected render for %s", fam)
		}
		model := filepath.Join(t.TempDir(), "m.gguf")
		if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, fam), "-o", model, "--outtype", "q8_0"); code != exitOK {
			t.Fatalf("convert: exit %d: %s", code, stderr)
		}
		stdout, stderr, code := runCLI(t, "run", model, "--chat", "-p", "Hello!", "-n", "1", "--temp", "0", "--json")
		if code != exitOK {
			t.Fatalf("%s: run --chat: exit %d: %s", fam, code, stderr)
		}
		var res runResult
		json.Unmarshal([]byte(stdout), &res)
		f, err := gguf.Open(model)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokenizer.FromGGUF(f.Metadata)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		// transformers writes BOS as its text; match it here by id so the
		// check does not depend on how the tokenizer spells special tokens.
		var wantIDs []int32
		if rest, ok := strings.CutPrefix(exp, "<｜begin▁of▁sentence｜>"); ok {
			wantIDs = append([]int32{tok.BOS()}, tok.Encode(rest, false, true)...)
		} else {
			wantIDs = tok.Encode(exp, false, true)
		}
		if idList(res.PromptIDs) != idList(wantIDs) {
			t.Errorf("%s: --chat prompt ids %v, the expected render %q encodes to %v", fam, res.PromptIDs, exp, wantIDs)
		}
		if tok.AddBOS() {
			n := 0
			for _, id := range res.PromptIDs {
				if id == tok.BOS() {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: BOS appears %d times in the chat prompt", fam, n)
			}
		}
	}
}
