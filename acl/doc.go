// Package acl will hold policy parsing, the compiled ACL object with its
// capability checks, and token resolution with a cache. Until then the
// agent's HTTP layer resolves every request to "allowed" through a single
// hook (agent.HTTPServer.authorize).
package acl
