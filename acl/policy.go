package acl

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
)

// Policy levels, as written in the rules (`policy = "read"`).
const (
	PolicyDeny  = "deny"
	PolicyRead  = "read"
	PolicyWrite = "write"
)

// Resource names: the policy blocks a rule can contain and the resource half
// of a Capability. The first three are Nomad's; the last three are
// nomadlike's own.
const (
	ResourceAgent     = "agent"
	ResourceNode      = "node"
	ResourceOperator  = "operator"
	ResourcePipeline  = "pipeline"
	ResourceConfig    = "config"
	ResourceAssistant = "assistant"
)

// resources lists every resource in a fixed order (the order the blocks are
// documented in).
var resources = [...]string{
	ResourceAgent, ResourceNode, ResourceOperator,
	ResourcePipeline, ResourceConfig, ResourceAssistant,
}

// Resources returns every resource name in a fixed order: agent, node,
// operator, pipeline, config, assistant (a fresh slice each call).
func Resources() []string { return slices.Clone(resources[:]) }

// isResource reports whether name is one of the resources.
func isResource(name string) bool { return slices.Contains(resources[:], name) }

// ErrInvalidPolicy is matched (errors.Is) by every error Parse returns, so a
// caller can map all of them to a 400 without looking at the text. The text
// itself is the user-facing message ("Invalid policy: ...",
// "Invalid agent policy: ...").
var ErrInvalidPolicy = errors.New("invalid policy")

// Policy is one parsed set of rules. Each field holds the level of the
// matching block: PolicyDeny, PolicyRead, PolicyWrite, or "" when the policy
// does not mention that resource.
type Policy struct {
	Agent     string
	Node      string
	Operator  string
	Pipeline  string
	Config    string
	Assistant string
}

// level returns the policy's level for resource ("" for an unknown resource).
func (p *Policy) level(resource string) string {
	if p == nil {
		return ""
	}
	switch resource {
	case ResourceAgent:
		return p.Agent
	case ResourceNode:
		return p.Node
	case ResourceOperator:
		return p.Operator
	case ResourcePipeline:
		return p.Pipeline
	case ResourceConfig:
		return p.Config
	case ResourceAssistant:
		return p.Assistant
	}
	return ""
}

// field returns a pointer to the field that holds resource's level.
func (p *Policy) field(resource string) *string {
	switch resource {
	case ResourceAgent:
		return &p.Agent
	case ResourceNode:
		return &p.Node
	case ResourceOperator:
		return &p.Operator
	case ResourcePipeline:
		return &p.Pipeline
	case ResourceConfig:
		return &p.Config
	case ResourceAssistant:
		return &p.Assistant
	}
	return nil
}

// policyError is the concrete type behind every Parse error.
type policyError struct{ msg string }

func (e *policyError) Error() string        { return e.msg }
func (e *policyError) Is(target error) bool { return target == ErrInvalidPolicy }

// errPolicy builds a top-level error: "Invalid policy: ...".
func errPolicy(format string, args ...any) error {
	return &policyError{"Invalid policy: " + fmt.Sprintf(format, args...)}
}

// errBlock builds an error about one block: "Invalid agent policy: ...".
func errBlock(block, format string, args ...any) error {
	return &policyError{"Invalid " + block + " policy: " + fmt.Sprintf(format, args...)}
}

// Parse parses policy rules written in HCL (Nomad's syntax) or in JSON (the
// same structure; chosen when the first non-space byte is '{').
//
// The accepted shape is, per resource, at most one block
//
//	agent { policy = "read" }
//
// for agent, node, operator, pipeline, config and assistant, where policy is
// "deny", "read" or "write". Parsing is strict: anything else (an unknown
// block such as Nomad's namespace, an unknown attribute such as
// capabilities, a label, a repeated block, an unknown level) is an error
// naming the offending item, and so is a policy with no blocks at all.
//
// Rules longer than MaxPolicyBytes, or nested deeper than MaxPolicyDepth,
// are refused before they reach a parser (see checkNesting).
func Parse(rules string) (*Policy, error) {
	var (
		tree *node
		err  error
	)
	if len(rules) > MaxPolicyBytes {
		return nil, errPolicy("rules are %d bytes; at most %d are allowed", len(rules), MaxPolicyBytes)
	}
	isJSON := strings.HasPrefix(strings.TrimLeft(rules, " \t\r\n"), "{")
	if err := checkNesting([]byte(rules), isJSON); err != nil {
		return nil, err
	}
	if isJSON {
		tree, err = parseJSON([]byte(rules))
	} else {
		tree, err = parseHCL([]byte(rules))
	}
	if err != nil {
		return nil, err
	}
	return compilePolicy(tree)
}

// node is the syntax-independent shape of a body: its attributes and its
// blocks, each in source order. Both front ends (HCL and JSON) build one,
// and compilePolicy checks it, so the two syntaxes cannot drift apart.
type node struct {
	items []item
}

type item struct {
	name    string
	isBlock bool
	labels  int            // number of labels (blocks only)
	expr    hcl.Expression // attributes only
	body    *node          // blocks only
	pos     int            // byte offset, for ordering
}

// compilePolicy checks the top level and each block of tree and builds the
// Policy.
func compilePolicy(tree *node) (*Policy, error) {
	p := &Policy{}
	seen := map[string]bool{}
	for _, it := range tree.items {
		if !isResource(it.name) {
			if it.isBlock {
				return nil, errPolicy("unsupported block %q", it.name)
			}
			return nil, errPolicy("unsupported attribute %q", it.name)
		}
		if !it.isBlock {
			return nil, errPolicy("%q must be a block, as in %s { policy = \"read\" }", it.name, it.name)
		}
		if it.labels > 0 {
			return nil, errPolicy("block %q takes no labels", it.name)
		}
		if seen[it.name] {
			return nil, errPolicy("duplicate block %q", it.name)
		}
		seen[it.name] = true
		level, err := blockLevel(it.name, it.body)
		if err != nil {
			return nil, err
		}
		*p.field(it.name) = level
	}
	if len(seen) == 0 {
		return nil, errPolicy("no rules")
	}
	return p, nil
}

// blockLevel checks the inside of one resource block and returns its level.
func blockLevel(block string, body *node) (string, error) {
	var policy *item
	for i := range body.items {
		it := &body.items[i]
		if it.name != "policy" {
			if it.isBlock {
				return "", errBlock(block, "unsupported block %q", it.name)
			}
			return "", errBlock(block, "unsupported attribute %q", it.name)
		}
		if it.isBlock {
			return "", errBlock(block, "%q must be an attribute, as in policy = \"read\"", it.name)
		}
		if policy != nil {
			return "", errBlock(block, "duplicate attribute %q", it.name)
		}
		policy = it
	}
	if policy == nil {
		return "", errBlock(block, "missing attribute \"policy\" (want deny, read or write)")
	}
	var level string
	if diags := gohcl.DecodeExpression(policy.expr, nil, &level); diags.HasErrors() {
		return "", errBlock(block, "\"policy\" must be a quoted string (want deny, read or write)")
	}
	switch level {
	case PolicyDeny, PolicyRead, PolicyWrite:
		return level, nil
	}
	return "", errBlock(block, "%q (want deny, read or write)", level)
}

// syntaxError turns the first error diagnostic into a policy error with its
// position.
func syntaxError(diags hcl.Diagnostics) error {
	d := firstError(diags)
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + d.Detail
	}
	if d.Subject != nil {
		return errPolicy("syntax error at line %d, column %d: %s", d.Subject.Start.Line, d.Subject.Start.Column, msg)
	}
	return errPolicy("syntax error: %s", msg)
}

// parseHCL parses native HCL into a node tree.
func parseHCL(src []byte) (*node, error) {
	file, diags := hclsyntax.ParseConfig(src, "policy.hcl", hcl.InitialPos)
	body, ok := file.Body.(*hclsyntax.Body)
	if diags.HasErrors() {
		// The parser itself rejects a repeated attribute; word that like
		// the JSON front end does rather than as a syntax error.
		if d := firstError(diags); ok && d.Summary == "Attribute redefined" && d.Subject != nil &&
			0 <= d.Subject.Start.Byte && d.Subject.Start.Byte < d.Subject.End.Byte && d.Subject.End.Byte <= len(src) {
			name := string(src[d.Subject.Start.Byte:d.Subject.End.Byte])
			return nil, duplicateKey(enclosingBlock(body, d.Subject.Start.Byte), name)
		}
		return nil, syntaxError(diags)
	}
	if !ok {
		return nil, errPolicy("syntax error: unexpected body type %T", file.Body)
	}
	return hclNode(body), nil
}

// firstError returns the first error diagnostic (diags must have one).
func firstError(diags hcl.Diagnostics) *hcl.Diagnostic {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			return d
		}
	}
	return &hcl.Diagnostic{}
}

// enclosingBlock returns the type of the top-level block containing byte
// offset off, or "" when off is at the top level.
func enclosingBlock(body *hclsyntax.Body, off int) string {
	for _, b := range body.Blocks {
		if b.TypeRange.Start.Byte <= off && off < b.CloseBraceRange.End.Byte {
			return b.Type
		}
	}
	return ""
}

func hclNode(body *hclsyntax.Body) *node {
	n := &node{}
	for _, a := range body.Attributes {
		n.items = append(n.items, item{name: a.Name, expr: a.Expr, pos: a.NameRange.Start.Byte})
	}
	for _, b := range body.Blocks {
		n.items = append(n.items, item{
			name: b.Type, isBlock: true, labels: len(b.Labels),
			body: hclNode(b.Body), pos: b.TypeRange.Start.Byte,
		})
	}
	sortItems(n.items)
	return n
}

func sortItems(items []item) {
	slices.SortFunc(items, func(a, b item) int { return a.pos - b.pos })
}

// parseJSON parses the JSON form into a node tree. A property whose value is
// an object (or a non-empty array of objects, HCL's JSON form of repeated
// blocks) is a block; anything else is an attribute.
func parseJSON(src []byte) (*node, error) {
	file, diags := hcljson.Parse(src, "policy.json")
	if diags.HasErrors() {
		return nil, syntaxError(diags)
	}
	return jsonNode(src, file.Body, "")
}

// jsonNode converts one JSON body; block is the enclosing resource block
// ("" at the top level), used only to word an error about a repeated key.
func jsonNode(src []byte, body hcl.Body, block string) (*node, error) {
	attrs, diags := body.JustAttributes()
	if diags.HasErrors() {
		for _, d := range diags {
			if d.Severity == hcl.DiagError && d.Subject != nil && strings.HasPrefix(d.Summary, "Duplicate") {
				// The subject is the repeated key's string literal.
				return nil, duplicateKey(block, jsonKey(src, *d.Subject))
			}
		}
		return nil, syntaxError(diags)
	}

	n := &node{}
	var blockNames []string
	for name, a := range attrs {
		it := item{name: name, expr: a.Expr, pos: a.NameRange.Start.Byte}
		// With a nil context the JSON expression returns strings verbatim
		// and still yields the value's type even when it also reports a
		// problem (such as a repeated key further down, which the nested
		// JustAttributes reports properly).
		v, _ := a.Expr.Value(nil)
		t := v.Type()
		switch {
		case !v.IsKnown() || v.IsNull():
		case t.IsObjectType():
			it.isBlock = true
		case t.IsTupleType() && v.LengthInt() > 0:
			it.isBlock = true
			for _, et := range t.TupleElementTypes() {
				it.isBlock = it.isBlock && et.IsObjectType()
			}
		}
		if it.isBlock {
			blockNames = append(blockNames, name)
		}
		n.items = append(n.items, it)
	}
	sortItems(n.items)
	if len(blockNames) == 0 {
		return n, nil
	}

	// Decode the blocks through HCL's own JSON block rules, then put them in
	// place of the placeholder items (an array of N objects is N blocks of
	// the same type, each at the array's position).
	schema := &hcl.BodySchema{}
	for _, name := range blockNames {
		schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: name})
	}
	content, _, diags := body.PartialContent(schema)
	if diags.HasErrors() {
		return nil, syntaxError(diags)
	}
	byName := map[string][]*hcl.Block{}
	for _, b := range content.Blocks {
		byName[b.Type] = append(byName[b.Type], b)
	}
	var out []item
	for _, it := range n.items {
		if !it.isBlock {
			out = append(out, it)
			continue
		}
		for _, b := range byName[it.name] {
			ctx := block
			if ctx == "" {
				ctx = it.name
			}
			inner, err := jsonNode(src, b.Body, ctx)
			if err != nil {
				return nil, err
			}
			out = append(out, item{name: it.name, isBlock: true, body: inner, pos: it.pos})
		}
	}
	n.items = out
	return n, nil
}

// duplicateKey words the error for a key repeated in one JSON object. An
// unknown key is reported as unsupported (which it is, the first time too).
func duplicateKey(block, name string) error {
	switch {
	case block == "" && isResource(name):
		return errPolicy("duplicate block %q", name)
	case block == "":
		return errPolicy("unsupported attribute %q", name)
	case name == "policy":
		return errBlock(block, "duplicate attribute %q", name)
	default:
		return errBlock(block, "unsupported attribute %q", name)
	}
}

// jsonKey decodes the JSON string literal at r in src (a property name).
func jsonKey(src []byte, r hcl.Range) string {
	if r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte >= r.End.Byte {
		return ""
	}
	var s string
	if err := json.Unmarshal(src[r.Start.Byte:r.End.Byte], &s); err != nil {
		return string(src[r.Start.Byte:r.End.Byte])
	}
	return s
}
