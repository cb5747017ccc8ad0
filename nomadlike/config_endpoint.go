package nomadlike

import (
	"errors"
	"net/http"
	"sync"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/nomadlike/validate"
	"github.com/nomadlike/nomadlike/structs"
)

// ConfigEndpoint serves agent instance configs (Grafana Agent's config
// management API).
type ConfigEndpoint struct {
	srv *Server

	// writeMu serializes config writes on the leader from the read of the
	// current config to the end of its raft apply, so that a "<secret>"
	// placeholder resolves against the version it replaces: no other write
	// can come in between (see DESIGN.md, "Secret placeholders").
	writeMu sync.Mutex
}

// Put validates and stores a config. The body's name gives way to the
// request's; the stored YAML is the normalized one.
func (c *ConfigEndpoint) Put(args *structs.ConfigApplyRequest, reply *structs.ConfigApplyResponse) error {
	if done, err := c.srv.forward("Config.Put", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.ConfigWrite); err != nil {
		return err
	}
	if args.Config == nil {
		return badRequest("could not unmarshal config: EOF")
	}
	name := args.Config.Name
	if err := validate.ConfigName(name); err != nil {
		return badRequest("%v", err)
	}
	if max := c.srv.config.MaxContentsBytes; len(args.Config.Contents) > max {
		return badRequest("config is %d bytes, at most %d", len(args.Config.Contents), max)
	}
	switch kind := structs.NormalizeConfigKind(args.Config.Kind); kind {
	case structs.ConfigKindMetrics:
	case structs.ConfigKindLogs:
		return c.putLogs(args, reply)
	default:
		return badRequest("unknown config kind %q (want %s or %s)", kind, structs.ConfigKindMetrics, structs.ConfigKindLogs)
	}
	opts := validate.InstanceConfigOptions{DangerousAllowReadingFiles: c.srv.config.DangerousAllowReadingFiles}
	parsed, err := validate.ParseInstanceConfig([]byte(args.Config.Contents), name, opts)
	if err != nil {
		return configError(err)
	}

	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if parsed.HasPlaceholders() {
		if parsed, err = c.keepStoredSecrets(parsed, opts); err != nil {
			return err
		}
	}
	normalized, err := parsed.Encode()
	if err != nil {
		return badRequest("failed to validate config: %v", err)
	}
	req := &structs.ConfigApplyRequest{
		Config: &structs.InstanceConfig{Name: name, Contents: string(normalized), JobNames: parsed.JobNames()},
		Now:    time.Now().UTC().Truncate(time.Millisecond),
	}
	req.RequestID = args.RequestID
	return c.apply(req, reply)
}

// apply writes a validated put through raft.
func (c *ConfigEndpoint) apply(req *structs.ConfigApplyRequest, reply *structs.ConfigApplyResponse) error {
	resp, index, err := c.srv.raftApply(structs.ConfigApplyRequestType, req)
	if err != nil {
		return err
	}
	reply.Created = resp.(*fsm.ConfigApplyResult).Created
	reply.Index = index
	return nil
}

// putLogs validates and stores a logs instance config. Its YAML is stored
// as sent (after placeholders are resolved): re-encoding it would print
// Prometheus' Secret fields as "<secret>".
func (c *ConfigEndpoint) putLogs(args *structs.ConfigApplyRequest, reply *structs.ConfigApplyResponse) error {
	name := args.Config.Name
	body := []byte(args.Config.Contents)
	if _, err := validate.ParseLogsInstanceConfig(body, name); err != nil {
		return badRequest("failed to validate config: %v", err)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	existing, err := c.srv.fsm.State().ConfigByName(nil, name)
	if err != nil {
		return err
	}
	if existing != nil && structs.NormalizeConfigKind(existing.Kind) != structs.ConfigKindLogs {
		// Answered without a log entry; the FSM checks again.
		return fsm.ErrConfigKind(name, structs.NormalizeConfigKind(existing.Kind), structs.ConfigKindLogs)
	}
	if validate.LogsHasPlaceholders(body) {
		stored := ""
		if existing != nil {
			stored = existing.Contents
		}
		if body, err = validate.KeepStoredLogsSecrets(body, stored, name); err != nil {
			return badRequest("failed to validate config: %v", err)
		}
	}
	req := &structs.ConfigApplyRequest{
		Config: &structs.InstanceConfig{Name: name, Kind: structs.ConfigKindLogs, Contents: string(body)},
		Now:    time.Now().UTC().Truncate(time.Millisecond),
	}
	req.RequestID = args.RequestID
	return c.apply(req, reply)
}

// ofKind says whether cfg is of the kind a request names.
func ofKind(cfg *structs.InstanceConfig, kind string) bool {
	return cfg != nil && structs.NormalizeConfigKind(cfg.Kind) == structs.NormalizeConfigKind(kind)
}

// keepStoredSecrets resolves the "<secret>" and "xxxxx" placeholders of
// a config read back with GET against the version stored now. It runs on
// the leader under writeMu, whose state has every committed write applied
// (the leader barrier) and which no other config write can change before
// this one is applied.
func (c *ConfigEndpoint) keepStoredSecrets(parsed *validate.InstanceConfig, opts validate.InstanceConfigOptions) (*validate.InstanceConfig, error) {
	existing, err := c.srv.fsm.State().ConfigByName(nil, parsed.Name)
	if err != nil {
		return nil, err
	}
	var stored *validate.InstanceConfig
	if existing != nil {
		// Stored contents passed validation when written; one that no
		// longer parses has no secrets to keep.
		stored, _ = validate.ParseInstanceConfig([]byte(existing.Contents), existing.Name,
			validate.InstanceConfigOptions{DangerousAllowReadingFiles: true})
	}
	kept, err := parsed.KeepStoredSecrets(stored, opts)
	if err != nil {
		return nil, configError(err)
	}
	return kept, nil
}

// configError words a parse or validation error as Grafana Agent does.
func configError(err error) error {
	var ue *validate.UnmarshalError
	if errors.As(err, &ue) {
		return badRequest("could not unmarshal config: %v", ue.Err)
	}
	return badRequest("failed to validate config: %v", err)
}

// Delete removes a config; its history stays.
func (c *ConfigEndpoint) Delete(args *structs.ConfigApplyRequest, reply *structs.ConfigApplyResponse) error {
	if done, err := c.srv.forward("Config.Delete", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.ConfigWrite); err != nil {
		return err
	}
	if err := validate.ConfigName(args.Name); err != nil {
		return badRequest("%v", err)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	// A refusal the leader can see now is answered without a log entry
	// (the FSM checks again: a write may come in between).
	if existing, err := c.srv.fsm.State().ConfigByName(nil, args.Name); err != nil {
		return err
	} else if !ofKind(existing, args.Kind) {
		return fsm.ErrConfigNotFound(args.Name)
	}
	req := &structs.ConfigApplyRequest{Name: args.Name, Kind: args.Kind, Delete: true, Now: time.Now().UTC().Truncate(time.Millisecond)}
	req.RequestID = args.RequestID
	_, index, err := c.srv.raftApply(structs.ConfigApplyRequestType, req)
	if err != nil {
		return err
	}
	reply.Index = index
	return nil
}

// Get returns one config with its secrets scrubbed (nil when missing).
func (c *ConfigEndpoint) Get(args *structs.ConfigSpecificRequest, reply *structs.SingleConfigResponse) error {
	if done, err := c.srv.forward("Config.Get", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.ConfigRead); err != nil {
		return err
	}
	return c.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		cfg, err := state.ConfigByName(ws, args.Name)
		if err != nil {
			return err
		}
		if !ofKind(cfg, args.Kind) {
			cfg = nil
		}
		if reply.Config, err = scrubbed(cfg); err != nil {
			return err
		}
		reply.Index, err = state.Index("configs")
		return err
	})
}

// List returns every config (scrubbed) ordered by name.
func (c *ConfigEndpoint) List(args *structs.ConfigSpecificRequest, reply *structs.ConfigListResponse) error {
	if done, err := c.srv.forward("Config.List", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.ConfigRead); err != nil {
		return err
	}
	return c.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		all, err := state.Configs(ws)
		if err != nil {
			return err
		}
		reply.Configs = make([]*structs.InstanceConfig, 0, len(all))
		for _, cfg := range all {
			if !ofKind(cfg, args.Kind) {
				continue
			}
			// Lists carry names and times; Get carries contents.
			out := *cfg
			out.Contents = ""
			reply.Configs = append(reply.Configs, &out)
		}
		reply.Index, err = state.Index("configs")
		return err
	})
}

// Revisions returns a config's history, scrubbed, oldest first.
func (c *ConfigEndpoint) Revisions(args *structs.ConfigSpecificRequest, reply *structs.ConfigRevisionsResponse) error {
	if done, err := c.srv.forward("Config.Revisions", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.ConfigRead); err != nil {
		return err
	}
	return c.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		revs, err := state.ConfigRevisions(ws, args.Name)
		if err != nil {
			return err
		}
		reply.Revisions = make([]*structs.ConfigRevision, 0, len(revs))
		for _, r := range revs {
			if !ofKind(r.Snapshot, args.Kind) {
				continue
			}
			out := *r
			if out.Snapshot, err = scrubbed(r.Snapshot); err != nil {
				return err
			}
			reply.Revisions = append(reply.Revisions, &out)
		}
		if len(reply.Revisions) == 0 {
			return errConfigMissing(args.Name)
		}
		reply.Index, err = state.Index("config_revisions")
		return err
	})
}

func errConfigMissing(name string) error {
	return structs.NewErrCoded(http.StatusNotFound, "configuration %s does not exist", name)
}

// scrubbed returns a copy of cfg whose contents show secrets as <secret>.
// Stored contents passed validation, so they parse; files are allowed
// here because the check already ran when they were stored.
func scrubbed(cfg *structs.InstanceConfig) (*structs.InstanceConfig, error) {
	if cfg == nil {
		return nil, nil
	}
	// A logs config, stored as sent, and a metrics config stored by an
	// older parser that accepted what this one does not (e.g. a service
	// discovery type no longer built in) are scrubbed by the walk every
	// YAML shares: still readable, secrets still hidden.
	var parsed *validate.InstanceConfig
	if structs.NormalizeConfigKind(cfg.Kind) == structs.ConfigKindMetrics {
		parsed, _ = validate.ParseInstanceConfig([]byte(cfg.Contents), cfg.Name,
			validate.InstanceConfigOptions{DangerousAllowReadingFiles: true})
	}
	var yaml []byte
	var err error
	if parsed != nil {
		yaml, err = parsed.Scrubbed()
	} else {
		yaml, err = validate.ScrubYAML([]byte(cfg.Contents))
	}
	if err != nil {
		return nil, err
	}
	out := *cfg
	out.Contents = string(yaml)
	return &out, nil
}
