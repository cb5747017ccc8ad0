package nomadlike

import (
	"encoding/json"
	"net/http"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/nomadlike/validate"
	"github.com/nomadlike/nomadlike/structs"
)

// Limits of one pipeline request beyond those of package validate.
const (
	// maxPipelineOps bounds the operations (bulk delete IDs, synced
	// pipelines) of one request, and so the size of one raft entry.
	maxPipelineOps = 1000
	// maxMetadataBytes bounds a pipeline's metadata object.
	maxMetadataBytes = 64 << 10
)

// Enum values accepted on the wire, by their protobuf names.
var (
	configTypes = map[string]bool{"": true, "CONFIG_TYPE_UNSPECIFIED": true, "CONFIG_TYPE_ALLOY": true, structs.ConfigTypeOTel: true}
	sourceTypes = map[string]bool{"SOURCE_TYPE_GIT": true, "SOURCE_TYPE_TERRAFORM": true, "SOURCE_TYPE_GRAFANA": true}
)

// PipelineEndpoint serves pipelines (Fleet Management's PipelineService).
type PipelineEndpoint struct {
	srv *Server
}

func badRequest(format string, args ...any) error {
	return structs.NewErrCoded(http.StatusBadRequest, format, args...)
}

// Apply runs a batch of pipeline operations atomically on the leader.
func (p *PipelineEndpoint) Apply(args *structs.PipelineApplyRequest, reply *structs.PipelineApplyResponse) error {
	if done, err := p.srv.forward("Pipeline.Apply", args, args, reply); done {
		return err
	}
	if err := p.srv.authorize(args.AuthToken, acl.PipelineWrite); err != nil {
		return err
	}
	if err := p.srv.checkPipelineRequest(args); err != nil {
		return err
	}
	// Decided here, not in the FSM: every replica must see the same time.
	args.Now = time.Now().UTC().Truncate(time.Millisecond)
	if args.ValidateOnly || mayBeRefused(args) {
		// The leader's state is the truth; a preview writes nothing. A
		// request it refuses is answered without a log entry (the FSM
		// checks again: a write may come in between).
		res, err := p.srv.fsm.State().ApplyPipelines(0, args, true)
		if err != nil || args.ValidateOnly {
			if err == nil {
				reply.Pipelines = res.Pipelines
			}
			return err
		}
	}
	resp, index, err := p.srv.raftApply(structs.PipelineApplyRequestType, args)
	if err != nil {
		return err
	}
	reply.Pipelines = resp.(*fsm.PipelineApplyResult).Pipelines
	reply.Index = index
	return nil
}

// mayBeRefused tells whether the state can refuse the request: an upsert
// by name always applies, anything else may name a missing pipeline or a
// taken name.
func mayBeRefused(args *structs.PipelineApplyRequest) bool {
	if args.SyncSource != nil {
		return true
	}
	for _, op := range args.Operations {
		if op.Op != structs.PipelineOpUpsert {
			return true
		}
	}
	return false
}

// checkPipelineRequest validates what the FSM does not: shapes, names,
// sizes, matchers, enums. The FSM checks what depends on the state.
func (s *Server) checkPipelineRequest(args *structs.PipelineApplyRequest) error {
	if len(args.Operations) == 0 && args.SyncSource == nil {
		return badRequest("no pipeline operation given")
	}
	if len(args.Operations) > maxPipelineOps {
		return badRequest("too many pipelines in one request: %d (at most %d)", len(args.Operations), maxPipelineOps)
	}
	if src := args.SyncSource; src != nil {
		if !sourceTypes[src.Type] {
			return badRequest("source.type must be one of SOURCE_TYPE_GIT, SOURCE_TYPE_TERRAFORM, SOURCE_TYPE_GRAFANA, got %q", src.Type)
		}
		if src.Namespace == "" {
			return badRequest("source.namespace must not be empty")
		}
	}
	ids := map[string]bool{}
	names := map[string]bool{}
	for i, op := range args.Operations {
		switch op.Op {
		case structs.PipelineOpDelete:
			if err := checkPipelineID(op.ID); err != nil {
				return err
			}
			if ids[op.ID] {
				return badRequest("pipeline ID %q given twice", op.ID)
			}
			ids[op.ID] = true
			continue
		case structs.PipelineOpCreate, structs.PipelineOpUpsert:
			if op.Pipeline != nil && op.Pipeline.ID != "" {
				return badRequest("pipeline id must not be set when creating: the server assigns it")
			}
		case structs.PipelineOpUpdate:
			if op.Pipeline == nil {
				break
			}
			if err := checkPipelineID(op.Pipeline.ID); err != nil {
				return err
			}
		default:
			return badRequest("unknown pipeline operation %q", op.Op)
		}
		if op.Pipeline == nil {
			return badRequest("operation %d: missing pipeline", i)
		}
		if err := s.checkPipeline(op.Pipeline); err != nil {
			return err
		}
		if args.SyncSource != nil {
			if names[op.Pipeline.Name] {
				return badRequest("pipeline %q given twice", op.Pipeline.Name)
			}
			names[op.Pipeline.Name] = true
			op.Pipeline.SourceType, op.Pipeline.SourceNamespace = args.SyncSource.Type, args.SyncSource.Namespace
		}
	}
	return nil
}

// checkPipelineID accepts the decimal IDs the server hands out.
func checkPipelineID(id string) error {
	if id == "" {
		return badRequest("pipeline id must not be empty")
	}
	if len(id) > 20 {
		return badRequest("invalid pipeline id %q: not a pipeline ID", id)
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return badRequest("invalid pipeline id %q: not a pipeline ID", id)
		}
	}
	return nil
}

// checkPipeline validates one pipeline and normalizes what it can.
func (s *Server) checkPipeline(p *structs.Pipeline) error {
	if err := validate.PipelineName(p.Name); err != nil {
		return badRequest("%v", err)
	}
	if err := validate.Contents(p.Contents, s.config.MaxContentsBytes); err != nil {
		return badRequest("pipeline %q: %v", p.Name, err)
	}
	if _, err := validate.ParseMatchers(p.Matchers); err != nil {
		return badRequest("pipeline %q: %v", p.Name, err)
	}
	if !configTypes[p.ConfigType] {
		return badRequest("pipeline %q: config_type must be CONFIG_TYPE_ALLOY or CONFIG_TYPE_OTEL, got %q", p.Name, p.ConfigType)
	}
	if p.ConfigType == "CONFIG_TYPE_UNSPECIFIED" {
		p.ConfigType = ""
	}
	if p.SourceType != "" && !sourceTypes[p.SourceType] {
		return badRequest("pipeline %q: source.type %q is not a known source type", p.Name, p.SourceType)
	}
	if len(p.Metadata) > 0 {
		if len(p.Metadata) > maxMetadataBytes {
			return badRequest("pipeline %q: metadata is %d bytes, at most %d", p.Name, len(p.Metadata), maxMetadataBytes)
		}
		var obj map[string]any
		if err := json.Unmarshal(p.Metadata, &obj); err != nil || obj == nil {
			return badRequest("pipeline %q: metadata must be a JSON object", p.Name)
		}
	}
	if p.Matchers == nil {
		p.Matchers = []string{}
	}
	return nil
}

// Get returns one pipeline by ID or by name (nil when there is none).
func (p *PipelineEndpoint) Get(args *structs.PipelineSpecificRequest, reply *structs.SinglePipelineResponse) error {
	if done, err := p.srv.forward("Pipeline.Get", args, args, reply); done {
		return err
	}
	if err := p.srv.authorize(args.AuthToken, acl.PipelineRead); err != nil {
		return err
	}
	if args.ID == "" && args.Name == "" {
		return badRequest("pipeline id must not be empty")
	}
	return p.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		var err error
		if args.ID != "" {
			reply.Pipeline, err = state.PipelineByID(ws, args.ID)
		} else {
			reply.Pipeline, err = state.PipelineByName(ws, args.Name)
		}
		if err != nil {
			return err
		}
		reply.Index, err = state.Index("pipelines")
		return err
	})
}

// List returns pipelines ordered by ID, filtered by the collector
// attributes, enabled state and config type the request gives.
func (p *PipelineEndpoint) List(args *structs.PipelineListRequest, reply *structs.PipelineListResponse) error {
	if done, err := p.srv.forward("Pipeline.List", args, args, reply); done {
		return err
	}
	if err := p.srv.authorize(args.AuthToken, acl.PipelineRead); err != nil {
		return err
	}
	return p.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		all, err := state.Pipelines(ws)
		if err != nil {
			return err
		}
		reply.Pipelines = make([]*structs.Pipeline, 0, len(all))
		for _, pl := range all {
			if args.Enabled != nil && pl.Enabled != *args.Enabled {
				continue
			}
			if args.ConfigType != "" && args.ConfigType != "CONFIG_TYPE_UNSPECIFIED" && pl.ConfigType != args.ConfigType {
				continue
			}
			if args.Attributes != nil {
				ms, err := validate.ParseMatchers(pl.Matchers)
				if err != nil || !validate.MatchAll(ms, args.Attributes) {
					continue
				}
			}
			reply.Pipelines = append(reply.Pipelines, pl)
		}
		reply.Index, err = state.Index("pipelines")
		return err
	})
}

// Revisions lists revisions in the order they were made: every
// pipeline's without contents, or one pipeline's in full (a deleted
// pipeline's too).
func (p *PipelineEndpoint) Revisions(args *structs.PipelineRevisionsRequest, reply *structs.PipelineRevisionsResponse) error {
	if done, err := p.srv.forward("Pipeline.Revisions", args, args, reply); done {
		return err
	}
	if err := p.srv.authorize(args.AuthToken, acl.PipelineRead); err != nil {
		return err
	}
	if args.PipelineID != "" {
		if err := checkPipelineID(args.PipelineID); err != nil {
			return err
		}
	}
	return p.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		revs, err := state.PipelineRevisions(ws, args.PipelineID)
		if err != nil {
			return err
		}
		if args.PipelineID != "" && len(revs) == 0 {
			return structs.NewErrCoded(http.StatusNotFound, "pipeline with ID %q not found", args.PipelineID)
		}
		if args.PipelineID == "" {
			// The list of everything leaves contents out, as the API
			// documents; state rows are shared, so strip copies.
			for i, r := range revs {
				c := *r
				c.Snapshot = r.Snapshot.Copy()
				c.Snapshot.Contents = ""
				revs[i] = &c
			}
		}
		reply.Revisions = revs
		reply.Index, err = state.Index("pipeline_revisions")
		return err
	})
}

// Revision returns one revision (nil when there is none).
func (p *PipelineEndpoint) Revision(args *structs.PipelineRevisionRequest, reply *structs.SinglePipelineRevisionResponse) error {
	if done, err := p.srv.forward("Pipeline.Revision", args, args, reply); done {
		return err
	}
	if err := p.srv.authorize(args.AuthToken, acl.PipelineRead); err != nil {
		return err
	}
	if args.RevisionID == "" {
		return badRequest("revision_id must not be empty")
	}
	return p.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		var err error
		if reply.Revision, err = state.PipelineRevision(ws, args.RevisionID); err != nil {
			return err
		}
		reply.Index, err = state.Index("pipeline_revisions")
		return err
	})
}
