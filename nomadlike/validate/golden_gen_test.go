package validate

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

var writeGolden = flag.Bool("write-golden", false, "record the mirror's verdicts in testdata/compat/golden.json")

// goldenCase is one corpus body and the verdict the hand-written mirror gave.
type goldenCase struct {
	Name       string `json:"name"`
	Body       string `json:"body"`
	AllowFiles bool   `json:"allow_files,omitempty"`
	Accepted   bool   `json:"accepted"`
	Kind       string `json:"kind,omitempty"` // unmarshal | validation
	OldError   string `json:"old_error,omitempty"`
	Field      string `json:"field,omitempty"`
}

// fieldRE finds the first YAML key an error names.
var fieldRE = regexp.MustCompile(`[a-z0-9]+(?:_[a-z0-9]+)+|\burl\b|\bscheme\b|\bregex\b|\bmodulus\b|\bjob name\b|\bkey\b`)

func TestWriteGolden(t *testing.T) {
	if !*writeGolden {
		t.Skip("run with -write-golden")
	}
	var corpus []goldenCase
	add := func(name, body string, allow bool) {
		corpus = append(corpus, goldenCase{Name: name, Body: body, AllowFiles: allow})
	}
	for _, tc := range unmarshalCases {
		add("unmarshal/"+tc.name, tc.body, false)
	}
	for _, tc := range validationCases {
		add("validation/"+tc.name, tc.body, false)
	}
	for _, tc := range fileRuleCases {
		add("filerule/"+tc.name, tc.body, false)
		add("filerule-allowed/"+tc.name, tc.body, true)
	}
	for i, s := range instanceConfigSeeds {
		add("seed/"+string(rune('a'+i)), s, false)
		add("seed-allowed/"+string(rune('a'+i)), s, true)
	}
	add("minimal", minimalConfig, false)
	add("explicit-zero", explicitZeroConfig, false)
	add("scrub", scrubConfig, false)
	files, _ := filepath.Glob("testdata/compat/corpus/*.yaml")
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		add("corpus/"+filepath.Base(f), string(b), false)
	}
	for i := range corpus {
		c := &corpus[i]
		_, err := ParseInstanceConfig([]byte(c.Body), "test", InstanceConfigOptions{DangerousAllowReadingFiles: c.AllowFiles})
		if err == nil {
			c.Accepted = true
			continue
		}
		c.OldError = err.Error()
		var ue *UnmarshalError
		if errors.As(err, &ue) {
			c.Kind = "unmarshal"
		} else {
			c.Kind = "validation"
		}
		c.Field = fieldRE.FindString(c.OldError)
	}
	b, err := json.MarshalIndent(corpus, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/compat/golden.json", append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
