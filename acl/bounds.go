package acl

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// MaxPolicyBytes bounds the rules of one policy. A real policy is a few
// hundred bytes (six blocks of one attribute); the bound keeps the parse
// and the tree it builds small whatever a caller sends.
const MaxPolicyBytes = 64 << 10

// MaxPolicyDepth bounds how deeply brackets, braces, parentheses, quotes
// and template interpolations may nest in a policy. A valid policy nests
// three deep (block, attribute, quoted string); the HCL and JSON parsers
// recurse once or more per level, so an unbounded depth is a Go stack
// overflow, which kills the process rather than failing the request.
const MaxPolicyDepth = 64

// maxPolicyOperators bounds unary and conditional operators (!, -, ?)
// and template directives (%{...}), which the HCL parser also handles by
// recursion without brackets that stay open. No valid policy has any.
const maxPolicyOperators = 64

// checkNesting scans rules without recursion and refuses a nesting deeper
// than MaxPolicyDepth before any parser sees them. HCL is split into tokens
// by hclsyntax's own lexer (a state machine, not recursive), so strings,
// comments, heredocs and "${...}" inside strings are told apart exactly as
// the parser will see them: a bracket inside a comment cannot hide one
// outside it. JSON strings are taken verbatim, so its scan only skips them.
func checkNesting(src []byte, isJSON bool) error {
	depth, maxDepth := 0, 0
	if isJSON {
		maxDepth = jsonDepth(src)
	} else {
		tokens, _ := hclsyntax.LexConfig(src, "policy.hcl", hcl.InitialPos)
		operators := 0
		for _, tok := range tokens {
			switch tok.Type {
			case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
				hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
				hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
				depth++
				maxDepth = max(maxDepth, depth)
			case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
				hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
				depth = max(depth-1, 0)
			}
			switch tok.Type {
			case hclsyntax.TokenBang, hclsyntax.TokenMinus, hclsyntax.TokenQuestion,
				hclsyntax.TokenTemplateControl: // %{if}...%{endif} nests too
				if operators++; operators > maxPolicyOperators {
					return errPolicy("more than %d operators or directives; a policy needs none", maxPolicyOperators)
				}
			}
		}
	}
	if maxDepth > MaxPolicyDepth {
		return errPolicy("nested more than %d levels deep; a policy needs 3", MaxPolicyDepth)
	}
	return nil
}

// jsonDepth is the deepest nesting of objects and arrays in src, outside
// strings.
func jsonDepth(src []byte) int {
	depth, maxDepth := 0, 0
	inString, escaped := false, false
	for _, c := range src {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			maxDepth = max(maxDepth, depth)
		case c == '}' || c == ']':
			depth = max(depth-1, 0)
		}
	}
	return maxDepth
}
