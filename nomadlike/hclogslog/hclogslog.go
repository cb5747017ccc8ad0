// Package hclogslog logs log/slog records through an hclog.Logger.
package hclogslog

import (
	"context"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// New gives Prometheus' packages, which log through log/slog, the
// agent's hclog logger, so that their lines have the agent's format,
// level and destination.
func New(l hclog.Logger) *slog.Logger {
	return slog.New(&hclogHandler{l: l})
}

type hclogHandler struct {
	l     hclog.Logger
	attrs []any
	group string
}

func (h *hclogHandler) Enabled(_ context.Context, level slog.Level) bool {
	return toHclogLevel(level) >= h.l.GetLevel()
}

func (h *hclogHandler) Handle(_ context.Context, r slog.Record) error {
	args := make([]any, 0, len(h.attrs)+2*r.NumAttrs())
	args = append(args, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		args = appendAttr(args, h.group, a)
		return true
	})
	h.l.Log(toHclogLevel(r.Level), r.Message, args...)
	return nil
}

func (h *hclogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]any(nil), h.attrs...)
	for _, a := range attrs {
		c.attrs = appendAttr(c.attrs, h.group, a)
	}
	return &c
}

func (h *hclogHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

func appendAttr(args []any, group string, a slog.Attr) []any {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		prefix := a.Key
		if group != "" {
			prefix = group + "." + prefix
		}
		for _, ga := range v.Group() {
			args = appendAttr(args, prefix, ga)
		}
		return args
	}
	key := a.Key
	if group != "" {
		key = group + "." + key
	}
	return append(args, key, v.Any())
}

func toHclogLevel(l slog.Level) hclog.Level {
	switch {
	case l >= slog.LevelError:
		return hclog.Error
	case l >= slog.LevelWarn:
		return hclog.Warn
	case l >= slog.LevelInfo:
		return hclog.Info
	default:
		return hclog.Debug
	}
}
