package validate

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

const (
	// MaxNameBytes is the longest pipeline or config name accepted.
	MaxNameBytes = 128

	// DefaultMaxContentsBytes is the default limit for a pipeline's contents
	// or a config body: 1 MiB.
	DefaultMaxContentsBytes = 1 << 20
)

// PipelineName checks a Fleet Management pipeline name: 1 to 128 bytes of
// ASCII letters, digits, '_', '-' and '.', starting with a letter, digit or
// '_'. Spaces and '/' are refused so a name is usable as an identifier, a
// file name and a URL path segment without escaping.
func PipelineName(name string) error {
	if err := nameLength("pipeline name", name); err != nil {
		return err
	}
	if !isNameStart(rune(name[0])) {
		return fmt.Errorf("pipeline name %q must start with a letter, a digit or '_'", name)
	}
	for _, r := range name {
		if !isNameRune(r) {
			return fmt.Errorf("pipeline name %q contains %q; allowed are letters, digits, '_', '-' and '.'", name, r)
		}
	}
	return nil
}

// ConfigName checks a metrics instance config name: 1 to 128 bytes of ASCII
// letters, digits and '_', '-', '.', ':', '@', '+' and '/'. '/' separates
// path-like segments (the API's hello%2Fworld is the config hello/world);
// segments must be non-empty and neither "." nor "..".
func ConfigName(name string) error {
	if err := nameLength("config name", name); err != nil {
		return err
	}
	for _, r := range name {
		if !isNameRune(r) && !strings.ContainsRune(":@+/", r) {
			return fmt.Errorf("config name %q contains %q; allowed are letters, digits and '_', '-', '.', ':', '@', '+', '/'", name, r)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return fmt.Errorf("config name %q has an empty path segment", name)
		case ".", "..":
			return fmt.Errorf("config name %q has a %q path segment", name, seg)
		}
	}
	return nil
}

// Contents checks a pipeline's contents or a config body: non-empty, valid
// UTF-8 and at most max bytes. A max of zero or less means
// DefaultMaxContentsBytes.
func Contents(s string, max int) error {
	if max <= 0 {
		max = DefaultMaxContentsBytes
	}
	switch {
	case strings.TrimSpace(s) == "":
		return errors.New("contents must not be empty")
	case len(s) > max:
		return fmt.Errorf("contents is %d bytes, larger than the maximum of %d", len(s), max)
	case !utf8.ValidString(s):
		return errors.New("contents must be valid UTF-8")
	}
	return nil
}

// nameLength checks that a name is present and short enough.
func nameLength(field, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s must not be empty", field)
	case len(name) > MaxNameBytes:
		return fmt.Errorf("%s is %d bytes, longer than the maximum of %d", field, len(name), MaxNameBytes)
	}
	return nil
}

// isNameStart reports whether r may open a pipeline name.
func isNameStart(r rune) bool {
	return r == '_' || isAlnum(r)
}

// isNameRune reports whether r may appear in a pipeline name.
func isNameRune(r rune) bool {
	return isAlnum(r) || r == '_' || r == '-' || r == '.'
}

// isAlnum reports whether r is an ASCII letter or digit.
func isAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}
