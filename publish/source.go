package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Source describes the checkpoint a release was converted from.
type Source struct {
	Name          string   `json:"name"`                    // base name of the checkpoint folder
	ConfigSHA256  string   `json:"config_sha256"`           // of its config.json
	Architectures []string `json:"architectures,omitempty"` // config.json "architectures"
	ModelType     string   `json:"model_type,omitempty"`
	License       string   `json:"license,omitempty"` // README.md front matter
	LicenseName   string   `json:"license_name,omitempty"`
	LicenseLink   string   `json:"license_link,omitempty"`
	BaseModel     []string `json:"base_model,omitempty"` // README front matter base_model, or config.json _name_or_path
}

// ReadSource reads what the card says about a safetensors checkpoint folder:
// the sha256 of config.json, its architectures, and the license and base
// model from the README.md front matter when there is one.
func ReadSource(dir string) (*Source, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("source checkpoint: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("source checkpoint %s: not a directory", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	src := &Source{Name: filepath.Base(abs)}
	cfgPath := filepath.Join(dir, "config.json")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("source checkpoint: %w", err)
	}
	sum := sha256.Sum256(cfg)
	src.ConfigSHA256 = hex.EncodeToString(sum[:])
	var c struct {
		Architectures []string `json:"architectures"`
		ModelType     string   `json:"model_type"`
		NameOrPath    string   `json:"_name_or_path"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, fmt.Errorf("source checkpoint %s: %w", cfgPath, err)
	}
	src.Architectures, src.ModelType = c.Architectures, c.ModelType
	if isRepoID(c.NameOrPath) {
		src.BaseModel = []string{c.NameOrPath}
	}

	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if errors.Is(err, fs.ErrNotExist) {
		return src, nil
	} else if err != nil {
		return nil, fmt.Errorf("source checkpoint: %w", err)
	}
	fm, err := ParseFrontMatter(string(readme))
	if err != nil {
		return nil, fmt.Errorf("source checkpoint %s: %w", filepath.Join(dir, "README.md"), err)
	}
	src.License = fm.Scalar("license")
	src.LicenseName = fm.Scalar("license_name")
	src.LicenseLink = fm.Scalar("license_link")
	if bm := fm.List("base_model"); len(bm) > 0 {
		src.BaseModel = bm
	}
	return src, nil
}

// isRepoID reports whether s looks like a Hub repository id, ORG/NAME.
func isRepoID(s string) bool {
	org, name, ok := strings.Cut(s, "/")
	if !ok || org == "" || name == "" || strings.Contains(name, "/") {
		return false
	}
	for _, r := range s {
		if !(r == '/' || r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return !strings.HasPrefix(org, ".")
}

// ggufArchOf maps the checkpoint classes gguftool converts to the GGUF
// architecture llama.cpp's converter writes for them.
var ggufArchOf = map[string]string{
	"GptOssForCausalLM":     "gpt-oss",
	"PhiMoEForCausalLM":     "phimoe",
	"DeepseekForCausalLM":   "deepseek",
	"DeepseekV2ForCausalLM": "deepseek2",
}

// checkMatches refuses a source checkpoint whose architecture cannot have
// produced the model: the card would name the wrong provenance.
func (s *Source) checkMatches(modelPath, arch string) error {
	for _, a := range s.Architectures {
		if want, ok := ggufArchOf[a]; ok && want != arch {
			return fmt.Errorf("%s is a %s model, but the source checkpoint %s is %s (which converts to %s): wrong --source?",
				modelPath, arch, s.Name, a, want)
		}
	}
	return nil
}
