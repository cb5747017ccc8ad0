package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// fsmState returns an FSM snapshot (state.bin) holding two ACL policies
// and its raft metadata.
func fsmState(t *testing.T) (*raft.SnapshotMeta, []byte) {
	t.Helper()
	f, err := fsm.New(hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	buf, err := structs.Encode(structs.ACLPolicyUpsertRequestType, &structs.ACLPolicyUpsertRequest{
		Policies: []*structs.ACLPolicy{
			{Name: "readonly", Rules: `pipeline { policy = "read" }`},
			{Name: "writer", Rules: `pipeline { policy = "write" }`},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res := f.Apply(&raft.Log{Index: 7, Term: 2, Type: raft.LogCommand, Data: buf}); res != nil {
		if err, ok := res.(error); ok {
			t.Fatal(err)
		}
	}
	store := raft.NewInmemSnapshotStore()
	_, trans := raft.NewInmemTransport("127.0.0.1:1")
	sink, err := store.Create(raft.SnapshotVersionMax, 7, 2, raft.Configuration{
		Servers: []raft.Server{{ID: "a", Address: "127.0.0.1:1"}}}, 1, trans)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	meta, rc, err := store.Open(sink.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	state, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return meta, state
}

func archive(t *testing.T) (*raft.SnapshotMeta, []byte, []byte) {
	t.Helper()
	meta, state := fsmState(t)
	var buf bytes.Buffer
	if err := Write(&buf, meta, bytes.NewReader(state)); err != nil {
		t.Fatal(err)
	}
	return meta, state, buf.Bytes()
}

func TestArchive_RoundTrip(t *testing.T) {
	meta, state, arch := archive(t)
	var out bytes.Buffer
	got, err := Read(bytes.NewReader(arch), &out, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Index != meta.Index || got.Term != meta.Term || got.Size != meta.Size || got.ID != meta.ID ||
		len(got.Configuration.Servers) != 1 {
		t.Fatalf("meta = %+v, want %+v", got, meta)
	}
	if !bytes.Equal(out.Bytes(), state) {
		t.Fatal("state differs after the round trip")
	}

	// The layout is Consul's: a gzipped tar of these three files, in
	// this order, readable by standard tools.
	zr, err := gzip.NewReader(bytes.NewReader(arch))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
	if strings.Join(names, ",") != "meta.json,state.bin,SHA256SUMS" {
		t.Fatalf("files = %v", names)
	}
}

func TestArchive_Inspect(t *testing.T) {
	_, _, arch := archive(t)
	info, err := Inspect(bytes.NewReader(arch))
	if err != nil {
		t.Fatal(err)
	}
	if info.Meta.Index != 7 || info.Meta.Term != 2 {
		t.Fatalf("meta = %+v", info.Meta)
	}
	if info.Counts["ACLPolicy"] != 2 {
		t.Fatalf("counts = %v, want 2 ACLPolicy", info.Counts)
	}
}

// wantCorrupt checks that Read and Inspect refuse arch as corrupt with a
// message containing want.
func wantCorrupt(t *testing.T, arch []byte, want string) {
	t.Helper()
	_, err := Read(bytes.NewReader(arch), io.Discard, 0)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("Read error = %v, want a CorruptError", err)
	}
	if !strings.HasPrefix(err.Error(), "snapshot is corrupt: ") || !strings.Contains(err.Error(), want) {
		t.Fatalf("Read error = %q, want it to contain %q", err, want)
	}
	if _, err := Inspect(bytes.NewReader(arch)); !errors.As(err, &ce) {
		t.Fatalf("Inspect error = %v, want a CorruptError", err)
	}
}

func TestArchive_Truncated(t *testing.T) {
	_, _, arch := archive(t)
	for _, n := range []int{0, 1, 10, len(arch) / 3, len(arch) / 2, len(arch) - 9, len(arch) - 1} {
		wantCorrupt(t, arch[:n], "")
	}
}

func TestArchive_EveryFlippedByteRefused(t *testing.T) {
	meta, state, arch := archive(t)
	// Past the gzip header (whose flags and mtime a reader may ignore),
	// every byte is covered by deflate's structure, the gzip CRC and
	// length, or our checksums. A flip deflate decodes to the very same
	// bytes (a code length of a symbol the block never uses) alters
	// nothing, and may pass.
	refused := 0
	for i := 10; i < len(arch); i++ {
		bad := bytes.Clone(arch)
		bad[i] ^= 0x40
		var out bytes.Buffer
		got, err := Read(bytes.NewReader(bad), &out, 0)
		if err != nil {
			refused++
			continue
		}
		if !bytes.Equal(out.Bytes(), state) || got.Index != meta.Index || got.Size != meta.Size {
			t.Fatalf("a flipped byte at %d of %d was accepted with different content", i, len(arch))
		}
	}
	if refused < len(arch)-10-8 {
		t.Fatalf("only %d of %d flipped bytes refused", refused, len(arch)-10)
	}
}

// rewrite builds an archive from files, after edit changes them, with
// valid gzip and tar framing: what a checksum alone must catch.
func rewrite(t *testing.T, arch []byte, edit func(name string, b []byte) []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(arch))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if b = edit(hdr.Name, b); b == nil {
			continue
		}
		hdr.Size = int64(len(b))
		tw.WriteHeader(hdr)
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	return out.Bytes()
}

func TestArchive_ChecksumMismatch(t *testing.T) {
	_, _, arch := archive(t)
	bad := rewrite(t, arch, func(name string, b []byte) []byte {
		if name == "state.bin" {
			b[len(b)-1] ^= 1
		}
		return b
	})
	wantCorrupt(t, bad, "checksum mismatch for state.bin")

	bad = rewrite(t, arch, func(name string, b []byte) []byte {
		if name == "meta.json" {
			return bytes.Replace(b, []byte(`"Index":7`), []byte(`"Index":8`), 1)
		}
		return b
	})
	wantCorrupt(t, bad, "checksum mismatch for meta.json")
}

func TestArchive_MissingOrExtraParts(t *testing.T) {
	_, _, arch := archive(t)
	for _, name := range []string{"meta.json", "state.bin", "SHA256SUMS"} {
		bad := rewrite(t, arch, func(n string, b []byte) []byte {
			if n == name {
				return nil
			}
			return b
		})
		wantCorrupt(t, bad, name+" is missing")
	}
	wantCorrupt(t, append(bytes.Clone(arch), 0), "data after the end")
	wantCorrupt(t, []byte("not an archive at all"), "not a gzip archive")
}

func TestArchive_Limit(t *testing.T) {
	meta, _, arch := archive(t)
	_, err := Read(bytes.NewReader(arch), io.Discard, meta.Size-1)
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("error = %v, want TooLargeError", err)
	}
	if _, err := Read(bytes.NewReader(arch), io.Discard, meta.Size); err != nil {
		t.Fatal(err)
	}
}

// A state that does not decode passes the archive's checks (its sums are
// right) but not Inspect, which decodes it as a restore would.
func TestArchive_UndecodableState(t *testing.T) {
	meta, state := fsmState(t)
	state = state[:len(state)-3]
	meta.Size = int64(len(state))
	var buf bytes.Buffer
	if err := Write(&buf, meta, bytes.NewReader(state)); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	_, err := Inspect(bytes.NewReader(buf.Bytes()))
	if err == nil || !strings.Contains(err.Error(), "snapshot is corrupt: state.bin") {
		t.Fatalf("error = %v", err)
	}
}
