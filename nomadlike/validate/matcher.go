package validate

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/matcher/parse"
	amlabels "github.com/prometheus/alertmanager/pkg/labels"
)

const (
	// MaxMatchers is the most matchers one pipeline may carry.
	MaxMatchers = 100

	// MaxMatcherBytes is the longest matcher string accepted, as in
	// Fleet Management's documented limits.
	MaxMatcherBytes = 200
)

// MatchOp is a matcher's comparison operator.
type MatchOp string

// The four Alertmanager operators.
const (
	MatchEqual     MatchOp = "="
	MatchNotEqual  MatchOp = "!="
	MatchRegexp    MatchOp = "=~"
	MatchNotRegexp MatchOp = "!~"
)

// Matcher is one parsed attribute matcher such as `env="prod"` or
// `team=~"a|b"`. Build it with ParseMatcher; the zero value matches nothing
// useful.
type Matcher struct {
	// Name is the attribute the matcher reads.
	Name string

	// Op is the comparison operator.
	Op MatchOp

	// Value is the literal (for = and !=) or the regular expression source
	// (for =~ and !~), unquoted.
	Value string

	// re is Value compiled as ^(?:Value)$ for the regex operators.
	re *regexp.Regexp
}

// ParseMatcher parses one matcher in Alertmanager's UTF-8 matcher syntax:
// name and value are each an unquoted literal or a double-quoted Go-style
// string, the operator is one of = != =~ !~, and whitespace around tokens is
// ignored. Regular expressions are RE2 and fully anchored.
func ParseMatcher(s string) (*Matcher, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("matcher must not be empty")
	}
	if !utf8.ValidString(s) {
		return nil, errors.New("matcher must be valid UTF-8")
	}
	if len(s) > MaxMatcherBytes {
		return nil, fmt.Errorf("matcher is %d bytes, longer than the maximum of %d", len(s), MaxMatcherBytes)
	}
	am, err := parse.Matcher(s)
	if err != nil {
		return nil, err
	}
	if am.Name == "" {
		return nil, errors.New("matcher name must not be empty")
	}
	return newMatcher(am.Name, opFromAM(am.Type), am.Value)
}

// ParseMatchers parses a pipeline's matcher list. It fails on the first bad
// matcher, naming it, and on more than MaxMatchers entries.
func ParseMatchers(ms []string) ([]*Matcher, error) {
	if len(ms) > MaxMatchers {
		return nil, fmt.Errorf("too many matchers: %d, the maximum is %d", len(ms), MaxMatchers)
	}
	out := make([]*Matcher, 0, len(ms))
	for _, s := range ms {
		m, err := ParseMatcher(s)
		if err != nil {
			return nil, fmt.Errorf("invalid matcher %q: %w", s, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// newMatcher builds a Matcher, compiling the anchored regex when needed.
func newMatcher(name string, op MatchOp, value string) (*Matcher, error) {
	m := &Matcher{Name: name, Op: op, Value: value}
	if op == MatchRegexp || op == MatchNotRegexp {
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression %q: %w", value, err)
		}
		m.re = re
	}
	return m, nil
}

// opFromAM maps Alertmanager's operator enum to ours.
func opFromAM(t amlabels.MatchType) MatchOp {
	switch t {
	case amlabels.MatchNotEqual:
		return MatchNotEqual
	case amlabels.MatchRegexp:
		return MatchRegexp
	case amlabels.MatchNotRegexp:
		return MatchNotRegexp
	default:
		return MatchEqual
	}
}

// Matches reports whether the attributes satisfy the matcher. A missing
// attribute compares as the empty string, so `env!="prod"` matches a
// collector without env and `env=""` matches only its absence (or an empty
// value).
func (m *Matcher) Matches(attrs map[string]string) bool {
	v := attrs[m.Name]
	switch m.Op {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re != nil && m.re.MatchString(v)
	case MatchNotRegexp:
		return m.re != nil && !m.re.MatchString(v)
	default:
		return false
	}
}

// String renders the matcher in a canonical form that ParseMatcher reads
// back to an equal matcher: the value is always quoted, the name only when
// it needs to be.
func (m *Matcher) String() string {
	name := m.Name
	if needsQuoting(name) {
		name = strconv.Quote(name)
	}
	return name + string(m.Op) + strconv.Quote(m.Value)
}

// needsQuoting reports whether an unquoted literal could not hold s: the
// lexer ends an unquoted literal at whitespace or a reserved character.
func needsQuoting(s string) bool {
	return s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("{}!=~,\\\"'`", r)
	})
}

// MatchAll reports whether every matcher matches the attributes (AND). An
// empty list matches every collector, as an empty Alertmanager route does.
func MatchAll(ms []*Matcher, attrs map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(attrs) {
			return false
		}
	}
	return true
}
