package nomadlike

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/nomadlike/snapshot"
	"github.com/nomadlike/nomadlike/structs"
)

// Snapshots travel as streaming RPCs (Operator.SnapshotSave and
// Operator.SnapshotRestore), relayed message by message from the server
// that took the call to the leader, which alone can take a consistent
// snapshot and restore one. The alternative, sending the HTTP request on
// to the leader's HTTP address, would need the leader's HTTP port to be
// reachable from every agent, which nothing else requires (see the debug
// endpoints); the RPC port already is.
//
// Save: the caller sends a GenericRequest; the leader answers an empty
// message (started, or an error instead), then the archive in chunks,
// then ends the stream. Restore: the caller sends a WriteRequest; the
// leader answers an empty message (ready, or an error instead); the
// caller sends the archive in chunks and an empty message to end it; the
// leader answers one message: the msgpack GenericResponse, or an error.
// The caller reads that answer while it is still sending, so a refusal
// in the middle of an upload is not stuck behind it.

const (
	// snapshotChunk is the payload size of one stream message.
	snapshotChunk = 64 << 10
	// snapshotRestoreTimeout bounds raft's restore: enqueueing it, and
	// the no-op after it, which commits once a majority installed it.
	snapshotRestoreTimeout = 5 * time.Minute
	// restoreIndexGap is how far above the leader's last log index a
	// restore puts every table's index. Entries that commit between
	// reading that index and raft taking the restore (a few milliseconds,
	// a few batches at most) stay below it.
	restoreIndexGap = 4096
)

// MaxSnapshotBytes bounds a snapshot upload and the state inside it (a
// state that size would not fit the memory of a server anyway).
const MaxSnapshotBytes int64 = 1 << 30

// snapshotSave is the streaming RPC Operator.SnapshotSave.
func (op *Operator) snapshotSave(conn *StreamConn) {
	s := op.srv
	var args structs.GenericRequest
	if err := conn.Decode(&args); err != nil {
		return
	}
	if err := s.authorizeManagement(args.AuthToken); err != nil {
		conn.SendError(err)
		return
	}
	out, err := s.leaderStream("Operator.SnapshotSave", args.Forwarded)
	if err != nil {
		conn.SendError(err)
		return
	}
	if out != nil {
		args.SetForwarded(true)
		relayStream(conn, out, &args)
		return
	}
	// A leader cut off from the others (paused, partitioned) still
	// thinks it leads; its state may be older than what the new leader
	// acknowledged. A backup must be of the cluster's state, so the
	// leadership is confirmed with a quorum first.
	if err := s.raft.VerifyLeader().Error(); err != nil {
		conn.SendError(structs.ErrNoLeader)
		return
	}
	meta, state, err := s.takeSnapshot()
	if err != nil {
		conn.SendError(err)
		return
	}
	defer state.Close()
	if err := conn.Send(nil); err != nil {
		return
	}
	w := bufio.NewWriterSize(chunkWriter{conn}, snapshotChunk)
	err = snapshot.Write(w, meta, state)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		s.logger.Error("snapshot save failed", "error", err)
		conn.SendError(fmt.Errorf("snapshot save failed: %w", err))
		return
	}
	s.logger.Info("snapshot saved", "index", meta.Index, "bytes", meta.Size)
}

// takeSnapshot has raft snapshot the state now and opens it. raft refuses
// (ErrNothingNewToSnapshot) while its FSM has applied nothing since the
// process started; a barrier applies an entry, and then it can.
func (s *Server) takeSnapshot() (*raft.SnapshotMeta, io.ReadCloser, error) {
	for attempt := 0; ; attempt++ {
		f := s.raft.Snapshot()
		err := f.Error()
		if errors.Is(err, raft.ErrNothingNewToSnapshot) && attempt == 0 {
			if err := s.raft.Barrier(s.config.RaftTimeout).Error(); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("snapshot failed: %w", err)
		}
		return f.Open()
	}
}

// chunkWriter sends what is written to it as stream messages.
type chunkWriter struct{ conn *StreamConn }

func (c chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	// Send copies nothing: the buffer may be reused once Encode returns.
	if err := c.conn.Send(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// snapshotRestore is the streaming RPC Operator.SnapshotRestore.
func (op *Operator) snapshotRestore(conn *StreamConn) {
	s := op.srv
	var args structs.WriteRequest
	if err := conn.Decode(&args); err != nil {
		return
	}
	if err := s.authorizeManagement(args.AuthToken); err != nil {
		conn.SendError(err)
		return
	}
	out, err := s.leaderStream("Operator.SnapshotRestore", args.Forwarded)
	if err != nil {
		conn.SendError(err)
		return
	}
	if out != nil {
		args.SetForwarded(true)
		relayBoth(conn, out, &args)
		return
	}
	if err := conn.Send(nil); err != nil {
		return
	}
	index, err := s.restoreSnapshot(&uploadReader{conn: conn})
	if err != nil {
		s.logger.Warn("snapshot restore refused", "error", err)
		conn.SendError(err)
		return
	}
	var payload []byte
	if err := codec.NewEncoderBytes(&payload, structs.MsgpackHandle).Encode(&structs.GenericResponse{
		WriteMeta: structs.WriteMeta{Index: index}}); err != nil {
		conn.SendError(err)
		return
	}
	conn.Send(payload)
}

// restoreSnapshot checks an archive whole and then restores it through
// raft. Nothing changes unless every check passes: the checksums, the
// metadata, and a full decode of the state into a scratch store (raft
// panics on a restore the FSM refuses, so that must be known first).
func (s *Server) restoreSnapshot(r io.Reader) (uint64, error) {
	// The data dir, not /tmp: it has room for raft's snapshots, which this
	// is about to become, and /tmp is often a small tmpfs.
	tmp, err := os.CreateTemp(s.config.DataDir, "snapshot-restore-*.tmp")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	meta, err := snapshot.Read(r, tmp, MaxSnapshotBytes)
	if err != nil {
		return 0, snapshotError(err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	if _, err := fsm.CheckSnapshot(bufio.NewReader(tmp)); err != nil {
		return 0, structs.NewErrCoded(http.StatusBadRequest, "snapshot is corrupt: state.bin: %v", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}

	index := max(s.raft.LastIndex(), meta.Index) + restoreIndexGap
	tail, err := fsm.RaiseIndexRecords(index)
	if err != nil {
		return 0, err
	}
	restore := *meta
	restore.Index = index
	restore.Size = meta.Size + int64(len(tail))
	s.logger.Warn("restoring snapshot by operator request", "snapshot_index", meta.Index, "snapshot_term", meta.Term,
		"bytes", meta.Size)
	if err := s.raft.Restore(&restore, io.MultiReader(tmp, bytes.NewReader(tail)), snapshotRestoreTimeout); err != nil {
		return 0, fmt.Errorf("snapshot restore failed: %w", err)
	}
	// The nodes of the restored state are the ones whose heartbeats this
	// leader must now expect (FailoverHeartbeatTTL, as after an election).
	s.heartbeats.initialize()
	s.logger.Info("snapshot restored", "index", s.raft.LastIndex())
	return s.raft.LastIndex(), nil
}

// snapshotError maps the archive's errors to their status codes.
func snapshotError(err error) error {
	var ce *snapshot.CorruptError
	var tl *snapshot.TooLargeError
	switch {
	case errors.As(err, &ce):
		return structs.NewErrCoded(http.StatusBadRequest, "%s", ce.Error())
	case errors.As(err, &tl):
		return structs.NewErrCoded(http.StatusRequestEntityTooLarge, "%s", tl.Error())
	}
	return err
}

// uploadReader reads the payloads of an upload until its empty end
// message. An upload larger than MaxSnapshotBytes is cut off there.
type uploadReader struct {
	conn *StreamConn
	buf  []byte
	n    int64
	done bool
}

func (u *uploadReader) Read(p []byte) (int, error) {
	for len(u.buf) == 0 {
		if u.done {
			return 0, io.EOF
		}
		payload, err := u.conn.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if len(payload) == 0 {
			u.done = true
			continue
		}
		if u.n += int64(len(payload)); u.n > MaxSnapshotBytes {
			return 0, &snapshot.TooLargeError{Limit: MaxSnapshotBytes}
		}
		u.buf = payload
	}
	n := copy(p, u.buf)
	u.buf = u.buf[n:]
	return n, nil
}

// authorizeManagement lets only a management token through (ACLs on).
func (s *Server) authorizeManagement(secret string) error {
	a, _, err := s.ResolveToken(secret)
	if err != nil {
		return err
	}
	if a != nil && !a.IsManagement() {
		return structs.ErrPermissionDenied
	}
	return nil
}

// leaderStream opens the streaming RPC method on the leader, or returns
// nil when this server is the leader. Like forward(), it waits up to
// RPCHoldTimeout for an election; a request already forwarded to this
// server as the leader is not sent on again (two servers that disagree on
// the leader would bounce it).
func (s *Server) leaderStream(method string, forwarded bool) (*StreamConn, error) {
	deadline := time.Now().Add(s.config.RPCHoldTimeout)
	for {
		if s.isShutdown() {
			return nil, structs.ErrShutdown
		}
		if s.IsLeader() {
			return nil, nil
		}
		leader, _ := s.raft.LeaderWithID()
		if leader != "" && s.raft.State() != raft.Leader && !forwarded {
			out, err := s.connPool.StreamingRPC(string(leader), method)
			var de *DialError
			if err == nil || !errors.As(err, &de) {
				return out, err
			}
		}
		if time.Now().After(deadline) {
			return nil, structs.ErrNoLeader
		}
		time.Sleep(25*time.Millisecond + rand.N(50*time.Millisecond))
	}
}

// relayBoth sends req on out, then copies messages both ways until the
// far side answers its last message (an error, or the answer after the
// upload) or either side goes away: a server forwarding an upload.
func relayBoth(in, out *StreamConn, req any) {
	defer out.Close()
	if err := out.Encode(req); err != nil {
		in.SendError(err)
		return
	}
	go func() {
		for {
			var msg structs.StreamErrWrapper
			if err := in.Decode(&msg); err != nil {
				out.Close()
				return
			}
			if err := out.Encode(&msg); err != nil {
				return
			}
		}
	}()
	answers := 0
	for {
		var msg structs.StreamErrWrapper
		if err := out.Decode(&msg); err != nil {
			in.SendError(fmt.Errorf("stream from leader ended: %w", err))
			return
		}
		if err := in.Encode(&msg); err != nil {
			return
		}
		// The first message is the leader's "ready", the second its
		// answer; an error is always the last.
		if answers++; msg.Error != nil || answers == 2 {
			return
		}
	}
}
