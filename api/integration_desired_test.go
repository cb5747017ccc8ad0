package api_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/api"
)

// These tests drive the desired-state APIs, Pipelines() (Connect) and
// Configs() (Grafana envelope), against a real in-process agent, with the
// helpers of integration_test.go.

// desiredInstanceConfig is a valid metrics_instance_config with a secret;
// %s is the job name.
const desiredInstanceConfig = `name: ignored-by-the-api
scrape_configs:
- job_name: %s
  static_configs:
  - targets: ['localhost:9100']
remote_write:
- url: http://localhost:9009/api/prom/push
  basic_auth:
    username: user
    password: s3cret-password
`

// wantConnect checks that err is an api.ConnectError with code whose
// message contains msgPart.
func wantConnect(t *testing.T, what string, err error, code, msgPart string) api.ConnectError {
	t.Helper()
	var ce api.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("%s: error %v (%T), want ConnectError %s", what, err, err, code)
	}
	if ce.Code() != code || !strings.Contains(ce.Message(), msgPart) {
		t.Fatalf("%s: %d %s %q, want %s containing %q", what, ce.StatusCode(), ce.Code(), ce.Message(), code, msgPart)
	}
	return ce
}

// wantEnvelope checks that err is an api.EnvelopeError with status code
// whose message contains msgPart.
func wantEnvelope(t *testing.T, what string, err error, code int, msgPart string) {
	t.Helper()
	var ee api.EnvelopeError
	if !errors.As(err, &ee) {
		t.Fatalf("%s: error %v (%T), want EnvelopeError %d", what, err, err, code)
	}
	if ee.StatusCode() != code || !strings.Contains(ee.Message(), msgPart) {
		t.Fatalf("%s: %d %q, want %d containing %q", what, ee.StatusCode(), ee.Message(), code, msgPart)
	}
}

// pipelineNames are the names of pipelines, sorted.
func pipelineNames(ps []*api.Pipeline) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func TestIntegration_Pipelines(t *testing.T) {
	a := agent.TestAgent(t, func(c *agent.Config) { c.Client.Enabled = ptr(false) })
	agent.WaitForAgentLeader(t, a)
	p := newClient(t, a).Pipelines()

	// Create: enabled left unset comes back true, the server sets ID and
	// times, and the write reports its index.
	created, wm, err := p.Create(&api.Pipeline{
		Name: "alpha", Contents: "logging {}", Matchers: []string{`env="prod"`},
		Metadata: map[string]any{"team": "a"}, ConfigType: api.ConfigTypeAlloy,
	}, false, nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created.ID == "" || created.Name != "alpha" || created.Contents != "logging {}" ||
		!slices.Equal(created.Matchers, []string{`env="prod"`}) || created.Enabled == nil || !*created.Enabled ||
		created.CreatedAt == nil || created.UpdatedAt == nil || created.Metadata["team"] != "a" ||
		created.ConfigType != api.ConfigTypeAlloy || wm.LastIndex == 0 {
		t.Fatalf("Create: %+v, %+v", created, wm)
	}
	id := created.ID

	t.Run("Errors", func(t *testing.T) {
		_, _, err := p.Get("999999", nil)
		if !api.IsNotFound(err) {
			t.Fatalf("Get of a missing id: %v, want not_found", err)
		}
		wantConnect(t, "Get missing", err, api.ConnectCodeNotFound, "999999")

		_, _, err = p.Create(&api.Pipeline{Name: "alpha", Contents: "x"}, false, nil)
		if !api.IsAlreadyExists(err) {
			t.Fatalf("duplicate Create: %v, want already_exists", err)
		}

		_, _, err = p.Create(&api.Pipeline{Name: "bad", Contents: "x", Matchers: []string{"no operator here"}}, false, nil)
		ce := wantConnect(t, "invalid matcher", err, api.ConnectCodeInvalidArgument, "no operator here")
		if ce.StatusCode() != 400 {
			t.Fatalf("invalid matcher: status %d, want 400", ce.StatusCode())
		}
		if _, _, err := p.GetID("bad", nil); !api.IsNotFound(err) {
			t.Fatalf("the refused pipeline exists: %v", err)
		}
	})

	t.Run("Get", func(t *testing.T) {
		got, qm, err := p.Get(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != id || got.Name != "alpha" || got.Contents != "logging {}" || got.Enabled == nil || !*got.Enabled ||
			!got.CreatedAt.Equal(*created.CreatedAt) || qm.LastIndex == 0 {
			t.Fatalf("Get: %+v %+v", got, qm)
		}
		gotID, _, err := p.GetID("alpha", nil)
		if err != nil || gotID != id {
			t.Fatalf("GetID: %q, %v; want %q", gotID, err, id)
		}
		if _, _, err := p.GetID("nope", nil); !api.IsNotFound(err) {
			t.Fatalf("GetID of a missing name: %v", err)
		}
	})

	t.Run("UpdateUpsertList", func(t *testing.T) {
		upd, wm, err := p.Update(&api.Pipeline{ID: id, Name: "alpha", Contents: "logging { level = \"debug\" }",
			Matchers: []string{"env=staging"}, Enabled: ptr(false)}, false, nil)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if upd.ID != id || upd.Enabled == nil || *upd.Enabled || !slices.Equal(upd.Matchers, []string{"env=staging"}) ||
			!strings.Contains(upd.Contents, "debug") || upd.Metadata != nil || wm.LastIndex == 0 {
			t.Fatalf("Update: %+v", upd)
		}
		if _, _, err := p.Update(&api.Pipeline{ID: "999999", Name: "ghost", Contents: "x"}, false, nil); !api.IsNotFound(err) {
			t.Fatalf("Update of a missing id: %v", err)
		}

		// Upsert creates a new name, then replaces it.
		up1, _, err := p.Upsert(&api.Pipeline{Name: "beta", Contents: "one"}, nil)
		if err != nil || up1.ID == "" || up1.ID == id || up1.Contents != "one" {
			t.Fatalf("Upsert create: %+v, %v", up1, err)
		}
		up2, _, err := p.Upsert(&api.Pipeline{Name: "beta", Contents: "two"}, nil)
		if err != nil || up2.ID != up1.ID || up2.Contents != "two" {
			t.Fatalf("Upsert replace: %+v, %v (first id %s)", up2, err, up1.ID)
		}

		list, qm, err := p.List(nil)
		if err != nil || qm.LastIndex == 0 {
			t.Fatalf("List: %v %v", list, err)
		}
		if names := pipelineNames(list); !slices.Equal(names, []string{"alpha", "beta"}) {
			t.Fatalf("List names %v", names)
		}
		for _, pl := range list {
			if pl.Contents == "" || pl.ID == "" {
				t.Fatalf("List entry without contents or id: %+v", pl)
			}
		}
	})

	t.Run("Revisions", func(t *testing.T) {
		all, qm, err := p.ListAllRevisions(nil)
		if err != nil || qm.LastIndex == 0 {
			t.Fatalf("ListAllRevisions: %v", err)
		}
		if len(all) < 4 { // alpha insert+update, beta insert+update
			t.Fatalf("ListAllRevisions: %d revisions", len(all))
		}
		for _, r := range all {
			if r.RevisionID == "" || r.Snapshot == nil || r.Snapshot.Name == "" || r.Snapshot.Contents != "" || r.CreatedAt.IsZero() {
				t.Fatalf("ListAllRevisions entry %+v %+v: want a snapshot without contents", r, r.Snapshot)
			}
		}

		revs, _, err := p.ListRevisions(id, nil)
		if err != nil || len(revs) != 2 {
			t.Fatalf("ListRevisions(%s): %v, %v", id, revs, err)
		}
		if revs[0].Operation != api.RevisionInsert || revs[1].Operation != api.RevisionUpdate ||
			revs[0].Snapshot.Contents != "logging {}" || !strings.Contains(revs[1].Snapshot.Contents, "debug") {
			t.Fatalf("ListRevisions: %+v %+v / %+v %+v", revs[0], revs[0].Snapshot, revs[1], revs[1].Snapshot)
		}

		rev, _, err := p.GetRevision(revs[0].RevisionID, nil)
		if err != nil || rev.RevisionID != revs[0].RevisionID || rev.Operation != api.RevisionInsert ||
			rev.Snapshot == nil || rev.Snapshot.Contents != "logging {}" || rev.Snapshot.ID != id {
			t.Fatalf("GetRevision: %+v, %v", rev, err)
		}
		if _, _, err := p.GetRevision("999999", nil); !api.IsNotFound(err) {
			t.Fatalf("GetRevision of a missing id: %v", err)
		}
	})

	t.Run("Sync", func(t *testing.T) {
		src := &api.PipelineSource{Type: api.SourceTypeGit, Namespace: "repo"}
		if _, err := p.Sync(src, []*api.Pipeline{{Name: "git-a", Contents: "a"}, {Name: "git-b", Contents: "b"}}, nil); err != nil {
			t.Fatalf("Sync: %v", err)
		}
		for _, name := range []string{"git-a", "git-b"} {
			gid, _, err := p.GetID(name, nil)
			if err != nil {
				t.Fatalf("GetID(%s) after sync: %v", name, err)
			}
			pl, _, err := p.Get(gid, nil)
			if err != nil || pl.Source == nil || pl.Source.Type != api.SourceTypeGit || pl.Source.Namespace != "repo" {
				t.Fatalf("synced %s: %+v, %v", name, pl, err)
			}
		}
		// A second sync replaces the set: git-b goes, others stay.
		if _, err := p.Sync(src, []*api.Pipeline{{Name: "git-a", Contents: "a2"}}, nil); err != nil {
			t.Fatalf("second Sync: %v", err)
		}
		list, _, err := p.List(nil)
		if err != nil {
			t.Fatal(err)
		}
		if names := pipelineNames(list); !slices.Equal(names, []string{"alpha", "beta", "git-a"}) {
			t.Fatalf("after second sync: %v", names)
		}
		// A source without a namespace is refused.
		_, err = p.Sync(&api.PipelineSource{Type: api.SourceTypeGit}, nil, nil)
		wantConnect(t, "sync without namespace", err, api.ConnectCodeInvalidArgument, "namespace")
	})

	t.Run("Delete", func(t *testing.T) {
		list, _, err := p.List(nil)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, pl := range list {
			ids[pl.Name] = pl.ID
		}

		// BulkDelete is atomic: one missing ID fails all of it.
		_, err = p.BulkDelete([]string{ids["beta"], "999999"}, nil)
		if !api.IsNotFound(err) {
			t.Fatalf("BulkDelete with a missing id: %v, want not_found", err)
		}
		if after, _, err := p.List(nil); err != nil || len(after) != len(list) {
			t.Fatalf("a failed BulkDelete deleted something: %d -> %d, %v", len(list), len(after), err)
		}

		if _, err := p.BulkDelete([]string{ids["beta"], ids["git-a"]}, nil); err != nil {
			t.Fatalf("BulkDelete: %v", err)
		}
		if wm, err := p.Delete(ids["alpha"], nil); err != nil || wm.LastIndex == 0 {
			t.Fatalf("Delete: %+v, %v", wm, err)
		}
		if after, _, err := p.List(nil); err != nil || len(after) != 0 {
			t.Fatalf("List after deletes: %v, %v", pipelineNames(after), err)
		}
		if _, err := p.Delete(ids["alpha"], nil); !api.IsNotFound(err) {
			t.Fatalf("second Delete: %v", err)
		}
		// The history keeps the delete, with the pipeline as it was.
		revs, _, err := p.ListRevisions(ids["alpha"], nil)
		if err != nil || len(revs) != 3 || revs[2].Operation != api.RevisionDelete || revs[2].Snapshot == nil ||
			!strings.Contains(revs[2].Snapshot.Contents, "debug") {
			t.Fatalf("revisions after delete: %v, %v", revs, err)
		}
	})
}

func TestIntegration_Configs(t *testing.T) {
	a := agent.TestAgent(t, func(c *agent.Config) { c.Client.Enabled = ptr(false) })
	agent.WaitForAgentLeader(t, a)
	cfgs := newClient(t, a).Configs()
	const name = "hello/world"

	names, qm, err := cfgs.List(nil)
	if err != nil || names == nil || len(names) != 0 || qm.LastIndex == 0 {
		t.Fatalf("empty List: %v, %+v, %v", names, qm, err)
	}

	// A blocking List returns after a change, long before its wait.
	type result struct {
		names []string
		qm    *api.QueryMeta
		err   error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		names, qm, err := cfgs.List(&api.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: 30 * time.Second})
		done <- result{names, qm, err}
	}()
	agent.WaitForBlockingQueries(t, a, 1)

	created, wm, err := cfgs.Put(name, fmt.Sprintf(desiredInstanceConfig, "a"), nil)
	if err != nil || !created || wm.LastIndex == 0 {
		t.Fatalf("first Put: created=%v %+v %v", created, wm, err)
	}
	select {
	case r := <-done:
		if r.err != nil || !slices.Equal(r.names, []string{name}) || r.qm.LastIndex <= qm.LastIndex {
			t.Fatalf("woken List: %v %+v %v", r.names, r.qm, r.err)
		}
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Fatalf("blocking List took %s", elapsed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking List did not wake on a Put")
	}

	created, _, err = cfgs.Put(name, fmt.Sprintf(desiredInstanceConfig, "b"), nil)
	if err != nil || created {
		t.Fatalf("second Put: created=%v %v", created, err)
	}

	// Get: the name comes from the URL, the secret is scrubbed.
	y, qm2, err := cfgs.Get(name, nil)
	if err != nil || qm2.LastIndex == 0 {
		t.Fatalf("Get: %v", err)
	}
	if !strings.Contains(y, "name: hello/world") || strings.Contains(y, "ignored-by-the-api") ||
		!strings.Contains(y, "job_name: b") || strings.Contains(y, "s3cret-password") || !strings.Contains(y, "<secret>") {
		t.Fatalf("Get: %s", y)
	}

	if names, _, err := cfgs.List(nil); err != nil || !slices.Equal(names, []string{name}) {
		t.Fatalf("List: %v, %v", names, err)
	}

	// Errors.
	_, _, err = cfgs.Get("missing", nil)
	wantEnvelope(t, "Get missing", err, 404, "configuration missing does not exist")
	if !api.IsNotFound(err) {
		t.Fatalf("IsNotFound(%v) = false", err)
	}
	_, err = cfgs.Delete("missing", nil)
	wantEnvelope(t, "Delete missing", err, 404, "configuration missing does not exist")
	_, _, err = cfgs.Put("reads-files", "scrape_configs:\n- job_name: rf\n  static_configs: [{targets: ['localhost:1']}]\n"+
		"  basic_auth: {username: u, password_file: /etc/passwd}\n", nil)
	wantEnvelope(t, "password_file", err, 400, "dangerous_allow_reading_files")
	if _, _, err := cfgs.Get("reads-files", nil); !api.IsNotFound(err) {
		t.Fatalf("the refused config exists: %v", err)
	}

	// Revisions: INSERT, UPDATE, then DELETE after a Delete.
	revs, _, err := cfgs.Revisions(name, nil)
	if err != nil || len(revs) != 2 {
		t.Fatalf("Revisions: %v, %v", revs, err)
	}
	if _, err := cfgs.Delete(name, nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := cfgs.Get(name, nil); !api.IsNotFound(err) {
		t.Fatalf("Get after Delete: %v", err)
	}
	revs, _, err = cfgs.Revisions(name, nil)
	if err != nil || len(revs) != 3 {
		t.Fatalf("Revisions after Delete: %v, %v", revs, err)
	}
	for i, op := range []string{api.RevisionInsert, api.RevisionUpdate, api.RevisionDelete} {
		r := revs[i]
		if r.Operation != op || r.RevisionID == "" || r.CreatedAt.IsZero() || r.Snapshot == nil || r.Snapshot.Name != name ||
			r.Snapshot.Contents == "" || strings.Contains(r.Snapshot.Contents, "s3cret-password") {
			t.Fatalf("revision %d: %+v %+v, want %s", i, r, r.Snapshot, op)
		}
	}
	if names, _, err := cfgs.List(nil); err != nil || len(names) != 0 {
		t.Fatalf("List after Delete: %v, %v", names, err)
	}
}
