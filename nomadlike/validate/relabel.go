package validate

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Relabel defaults, as Prometheus' relabel.DefaultRelabelConfig.
const (
	defaultRelabelSeparator   = ";"
	defaultRelabelReplacement = "$1"
	defaultRelabelAction      = "replace"
)

// relabelActions are the actions Prometheus knows.
var relabelActions = map[string]bool{
	"replace": true, "keep": true, "drop": true, "keepequal": true, "dropequal": true,
	"hashmod": true, "labelmap": true, "labeldrop": true, "labelkeep": true,
	"lowercase": true, "uppercase": true,
}

var (
	// legacyLabelName is Prometheus' classic label name charset, which the
	// agent's Prometheus fork enforces.
	legacyLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

	// relabelTarget is a label name that may use ${1}-style references.
	relabelTarget = regexp.MustCompile(`^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`)
)

// RelabelConfig mirrors Prometheus' relabel.Config. Regex is nil when the
// body left it out (Prometheus' default "(.*)", not printed on output).
type RelabelConfig struct {
	SourceLabels []string `yaml:"source_labels,flow,omitempty"`
	Separator    string   `yaml:"separator"`
	Regex        *string  `yaml:"regex,omitempty"`
	Modulus      uint64   `yaml:"modulus,omitempty"`
	TargetLabel  string   `yaml:"target_label,omitempty"`
	Replacement  string   `yaml:"replacement"`
	Action       string   `yaml:"action,omitempty"`
}

// rawRelabelConfig decodes a RelabelConfig without recursing into
// UnmarshalYAML; its name shows up in YAML errors (see yamlError).
type rawRelabelConfig RelabelConfig

// UnmarshalYAML fills Prometheus' defaults, decodes strictly and validates
// the rule as Prometheus does at load time.
func (c *RelabelConfig) UnmarshalYAML(unmarshal func(interface{}) error) error {
	*c = RelabelConfig{
		Separator:   defaultRelabelSeparator,
		Replacement: defaultRelabelReplacement,
		Action:      defaultRelabelAction,
	}
	if err := unmarshal((*rawRelabelConfig)(c)); err != nil {
		return err
	}
	c.Action = strings.ToLower(c.Action)
	return c.check()
}

// check applies Prometheus' relabel rule checks.
func (c *RelabelConfig) check() error {
	if !relabelActions[c.Action] {
		return fmt.Errorf("unknown relabel action %q", c.Action)
	}
	if c.Regex != nil {
		if _, err := regexp.Compile("^(?s:" + *c.Regex + ")$"); err != nil {
			return fmt.Errorf("invalid relabel regex %q: %w", *c.Regex, err)
		}
	}
	if c.Action == "hashmod" && c.Modulus == 0 {
		return errors.New("relabel configuration for hashmod requires non-zero modulus")
	}
	if err := c.checkTarget(); err != nil {
		return err
	}
	return c.checkExclusiveFields()
}

// checkTarget validates target_label and replacement for the action.
func (c *RelabelConfig) checkTarget() error {
	switch c.Action {
	case "replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal":
		if c.TargetLabel == "" {
			return fmt.Errorf("relabel configuration for %s action requires 'target_label' value", c.Action)
		}
	}
	switch c.Action {
	case "replace":
		if !legacyLabelName.MatchString(c.TargetLabel) && !(strings.Contains(c.TargetLabel, "$") && relabelTarget.MatchString(c.TargetLabel)) {
			return fmt.Errorf("%q is invalid 'target_label' for %s action", c.TargetLabel, c.Action)
		}
	case "hashmod", "lowercase", "uppercase", "keepequal", "dropequal":
		if !legacyLabelName.MatchString(c.TargetLabel) {
			return fmt.Errorf("%q is invalid 'target_label' for %s action", c.TargetLabel, c.Action)
		}
	case "labelmap":
		if !relabelTarget.MatchString(c.Replacement) {
			return fmt.Errorf("%q is invalid 'replacement' for %s action", c.Replacement, c.Action)
		}
	}
	return nil
}

// checkExclusiveFields rejects fields that an action ignores.
func (c *RelabelConfig) checkExclusiveFields() error {
	defaults := c.Regex == nil && c.Modulus == 0 &&
		c.Separator == defaultRelabelSeparator && c.Replacement == defaultRelabelReplacement
	switch c.Action {
	case "lowercase", "uppercase":
		if c.Replacement != defaultRelabelReplacement {
			return fmt.Errorf("'replacement' can not be set for %s action", c.Action)
		}
	case "keepequal", "dropequal":
		if !defaults {
			return fmt.Errorf("%s action requires only 'source_labels' and `target_label`, and no other fields", c.Action)
		}
	case "labeldrop", "labelkeep":
		if c.SourceLabels != nil || c.TargetLabel != "" || c.Modulus != 0 ||
			c.Separator != defaultRelabelSeparator || c.Replacement != defaultRelabelReplacement {
			return fmt.Errorf("%s action requires only 'regex', and no other fields", c.Action)
		}
	}
	return nil
}

// checkRelabelList rejects null entries in a relabel list.
func checkRelabelList(field string, rcs []*RelabelConfig) error {
	for i, rc := range rcs {
		if rc == nil {
			return fmt.Errorf("empty or null rule at index %d in %s", i, field)
		}
	}
	return nil
}
