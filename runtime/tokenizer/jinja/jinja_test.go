package jinja

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chatCase is one expectation rendered by Python's jinja2 with transformers'
// settings (../testdata/gen_chat_expected.py).
type chatCase struct {
	Template    string          `json:"template"`
	TemplateSrc string          `json:"template_src"`
	Vars        json.RawMessage `json:"vars"`
	Messages    json.RawMessage `json:"messages"`
	AddGen      bool            `json:"add_generation_prompt"`
	Expected    *string         `json:"expected"`
	Error       string          `json:"error"`
}

var genNow = time.Date(2026, 11, 27, 9, 5, 7, 0, time.UTC)

func templateSource(t *testing.T, name string) string {
	t.Helper()
	if f, ok := strings.CutSuffix(name, "-fixture"); ok || name == "phi-3.5-moe" {
		if name == "phi-3.5-moe" {
			f = "phimoe"
		}
		var cfg struct {
			ChatTemplate string `json:"chat_template"`
		}
		b, err := os.ReadFile(filepath.Join("../../../testdata/fixtures", f, "tokenizer_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg.ChatTemplate
	}
	b, err := os.ReadFile(filepath.Join("../testdata/templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAgainstPythonJinja(t *testing.T) {
	b, err := os.ReadFile("../testdata/chat_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []chatCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	agree := 0
	for i, c := range cases {
		src, label := c.TemplateSrc, c.TemplateSrc
		if c.Template != "" {
			src, label = templateSource(t, c.Template), c.Template
		}
		tmpl, err := Parse(src)
		if err != nil {
			t.Errorf("case %d (%s): parse: %v", i, label, err)
			continue
		}
		varsV, err := FromJSON(c.Vars)
		if err != nil {
			t.Fatal(err)
		}
		vars := map[string]any{}
		d := varsV.(*Dict)
		for _, k := range d.Keys() {
			vars[k], _ = d.Get(k)
		}
		if c.Template != "" {
			msgs, err := FromJSON(c.Messages)
			if err != nil {
				t.Fatal(err)
			}
			vars["messages"] = msgs
			vars["add_generation_prompt"] = c.AddGen
			if _, ok := vars["tools"]; !ok {
				vars["tools"] = nil
			}
			vars["documents"] = nil
		}
		got, err := tmpl.Render(vars, Options{Now: genNow})
		switch {
		case c.Expected != nil && err != nil:
			t.Errorf("case %d (%s): %v", i, label, err)
		case c.Expected != nil && got != *c.Expected:
			t.Errorf("case %d (%s):\n got %q\nwant %q", i, label, got, *c.Expected)
		case c.Expected == nil && err == nil:
			t.Errorf("case %d (%s): rendered %q, want error %q", i, label, got, c.Error)
		case c.Expected == nil && strings.HasPrefix(c.Error, "TemplateError: ") && !strings.Contains(err.Error(), strings.TrimPrefix(c.Error, "TemplateError: ")):
			t.Errorf("case %d (%s): error %q, want %q", i, label, err, c.Error)
		default:
			agree++
		}
	}
	t.Logf("%d/%d renderings agree with Python jinja2", agree, len(cases))
}

func TestRefusesUnsupported(t *testing.T) {
	for _, src := range []string{
		"{% extends 'base.html' %}",
		"{% include 'x' %}",
		"{% set x %}block{% endset %}",
		"{{ x|wordwrap }}",
		"{{ x is sameas }}",
		"{% for x in y recursive %}{% endfor %}",
		"{{ 'a' % 3 }}",
		"{% if x %}",
		"{{ x",
		"{{ foo() }}",
	} {
		tmpl, err := Parse(src)
		if err == nil {
			_, err = tmpl.Render(map[string]any{"x": "s", "y": []any{}}, Options{})
		}
		if err == nil {
			t.Errorf("%q: no error", src)
			continue
		}
		if _, ok := err.(*Error); !ok {
			t.Errorf("%q: error %T %v is not a *jinja.Error", src, err, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("{% for m in messages %}{{ m.role }}{% endfor %}")
	f.Add("{%- if a -%}x{%- elif b %}y{% else %}z{% endif %}")
	f.Add("{{ a[1:2]|tojson }}{# c #}{% macro q(x=1) %}{{ x }}{% endmacro %}{{ q() }}")
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			return
		}
		_, _ = tmpl.Render(map[string]any{"messages": []any{map[string]any{"role": "user"}}, "a": []any{int64(1)}}, Options{Now: genNow})
	})
}

// TestAgainstTransformers compares with transformers' apply_chat_template
// itself (../testdata/hf_expected.json, rendered on the GPU machine by
// gen_hf_expected.py) on the template cases of chat_expected.json.
func TestAgainstTransformers(t *testing.T) {
	b, err := os.ReadFile("../testdata/hf_expected.json")
	if os.IsNotExist(err) {
		t.Skip("hf_expected.json not generated")
	}
	if err != nil {
		t.Fatal(err)
	}
	var hf struct {
		Versions map[string]string `json:"versions"`
		Chat     []struct {
			Index    int     `json:"index"`
			Rendered *string `json:"rendered"`
			Error    string  `json:"error"`
		} `json:"chat"`
	}
	if err := json.Unmarshal(b, &hf); err != nil {
		t.Fatal(err)
	}
	cb, err := os.ReadFile("../testdata/chat_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []chatCase
	if err := json.Unmarshal(cb, &cases); err != nil {
		t.Fatal(err)
	}
	agree := 0
	for _, h := range hf.Chat {
		c := cases[h.Index]
		tmpl, err := Parse(templateSource(t, c.Template))
		if err != nil {
			t.Fatal(err)
		}
		varsV, _ := FromJSON(c.Vars)
		vars := map[string]any{}
		d := varsV.(*Dict)
		for _, k := range d.Keys() {
			vars[k], _ = d.Get(k)
		}
		msgs, _ := FromJSON(c.Messages)
		vars["messages"] = msgs
		vars["add_generation_prompt"] = c.AddGen
		if _, ok := vars["tools"]; !ok {
			vars["tools"] = nil
		}
		vars["documents"] = nil
		got, err := tmpl.Render(vars, Options{Now: genNow})
		switch {
		case h.Rendered != nil && err != nil:
			t.Errorf("case %d (%s): %v; transformers rendered %q", h.Index, c.Template, err, *h.Rendered)
		case h.Rendered != nil && got != *h.Rendered:
			t.Errorf("case %d (%s):\n got %q\nwant %q", h.Index, c.Template, got, *h.Rendered)
		case h.Rendered == nil && err == nil:
			t.Errorf("case %d (%s): rendered, transformers failed: %s", h.Index, c.Template, h.Error)
		default:
			agree++
		}
	}
	t.Logf("%d/%d renderings agree with transformers %s", agree, len(hf.Chat), hf.Versions["transformers"])
}
