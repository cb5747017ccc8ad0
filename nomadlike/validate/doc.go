// Package validate holds the pure input checks shared by the server's RPC
// endpoints, the HTTP layer and the scheduler: Alertmanager-style attribute
// matchers for pipelines, name and size limits, and the parser and validator
// for Grafana Agent static-mode metrics instance configs.
//
// Nothing here touches server state. Every error is a plain error whose text
// names the offending field; callers map them to "invalid argument" (HTTP
// 400). ParseInstanceConfig additionally tells decoding failures
// (*UnmarshalError) from rule violations (*ValidationError), because the
// agent API words the two differently.
package validate
