// Package acl parses ACL policies and compiles them into the ACL object the
// HTTP and RPC layers check.
//
// Policies (Parse) are written in HCL or JSON, Nomad's syntax with
// nomadlike's set of resources: one optional block each for agent, node,
// operator, pipeline, config and assistant, each holding
// policy = "deny" | "read" | "write". Parsing is strict: anything else is
// an error naming what was wrong.
//
// NewACL merges a token's policies (deny wins, then the most privileged
// level; unmentioned means no access). An endpoint declares what it needs
// as one Capability value (AgentRead, PipelineWrite, None, ...) and asks
// ACL.Allow. AllowPprof and AllowHost add Nomad's enable_debug rule for the
// debug endpoints.
//
// Anonymous access: a request without a token is resolved, outside this
// package, to the built-in anonymous token (AnonymousTokenID), whose only
// policy is the one named AnonymousPolicyName ("anonymous"). It has the
// rights of that policy if an operator created it, and none otherwise.
//
// Token → ACL resolution (looking tokens and policies up in the state
// store, expiry, caching) lives with the server; this package only turns
// rules into decisions and imports nothing of the server.
package acl
