// Package snapshot is the file format of `nomadlike operator snapshot`: a
// raft snapshot of the whole replicated state with its metadata and
// checksums, laid out as Consul's snapshot archives are (a gzipped tar of
// meta.json, state.bin and SHA256SUMS), so that standard tools can open
// one and a truncated or altered file is refused before anything uses it.
package snapshot

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// The files of an archive, in the order they are written. SHA256SUMS comes
// last because the state's sum is known only once it has been streamed.
const (
	metaFile  = "meta.json"
	stateFile = "state.bin"
	sumsFile  = "SHA256SUMS"
)

// maxSmallFile bounds meta.json and SHA256SUMS: both are a few hundred
// bytes, and a bound keeps a hostile archive from making us buffer more.
const maxSmallFile = 1 << 20

// CorruptError is what Read returns for an archive that is not whole: a
// truncated or altered file, a missing part, a checksum that does not
// match. Callers answer it with a 400.
type CorruptError struct {
	Reason string
}

func (e *CorruptError) Error() string { return "snapshot is corrupt: " + e.Reason }

func corrupt(format string, args ...any) error {
	return &CorruptError{Reason: fmt.Sprintf(format, args...)}
}

// TooLargeError is what Read returns when the state is larger than the
// limit it was given.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("snapshot state is larger than the limit of %d bytes", e.Limit)
}

// Write writes an archive of the raft snapshot meta describes, whose data
// state yields (exactly meta.Size bytes).
func Write(w io.Writer, meta *raft.SnapshotMeta, state io.Reader) error {
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("encoding snapshot metadata: %w", err)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	now := time.Now()
	header := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: now, Typeflag: tar.TypeReg}
	}

	metaSum := sha256.Sum256(metaJSON)
	if err := tw.WriteHeader(header(metaFile, int64(len(metaJSON)))); err != nil {
		return err
	}
	if _, err := tw.Write(metaJSON); err != nil {
		return err
	}

	if err := tw.WriteHeader(header(stateFile, meta.Size)); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.CopyN(io.MultiWriter(tw, h), state, meta.Size)
	if err != nil {
		return fmt.Errorf("copying snapshot state (%d of %d bytes): %w", n, meta.Size, err)
	}

	var sums bytes.Buffer
	fmt.Fprintf(&sums, "%x  %s\n", metaSum, metaFile)
	fmt.Fprintf(&sums, "%x  %s\n", h.Sum(nil), stateFile)
	if err := tw.WriteHeader(header(sumsFile, int64(sums.Len()))); err != nil {
		return err
	}
	if _, err := tw.Write(sums.Bytes()); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// Read reads an archive from r, copies its state to state and returns its
// metadata once every part is there and matches its checksum. Whatever it
// copied before an error must be thrown away. A state of more than limit
// bytes (0: no limit) is a *TooLargeError; anything else wrong with the
// archive is a *CorruptError.
func Read(r io.Reader, state io.Writer, limit int64) (*raft.SnapshotMeta, error) {
	br := bufio.NewReader(r)
	gz, err := gzip.NewReader(br)
	if err != nil {
		return nil, readFailure("not a gzip archive", err)
	}
	// One archive per file: a second gzip member would be data no
	// checksum covers.
	gz.Multistream(false)
	tr := tar.NewReader(gz)

	var metaJSON, sums []byte
	var stateSum []byte
	var stateSize int64
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, readFailure("reading archive", err)
		}
		if seen[hdr.Name] {
			return nil, corrupt("%s appears twice", hdr.Name)
		}
		seen[hdr.Name] = true
		switch hdr.Name {
		case metaFile:
			if metaJSON, err = readSmall(tr, hdr); err != nil {
				return nil, err
			}
		case sumsFile:
			if sums, err = readSmall(tr, hdr); err != nil {
				return nil, err
			}
		case stateFile:
			if limit > 0 && hdr.Size > limit {
				return nil, &TooLargeError{Limit: limit}
			}
			h := sha256.New()
			if stateSize, err = io.Copy(io.MultiWriter(failWriter{state}, h), tr); err != nil {
				var we *writeError
				if errors.As(err, &we) {
					return nil, we.err
				}
				return nil, readFailure("reading "+stateFile, err)
			}
			stateSum = h.Sum(nil)
		default:
			return nil, corrupt("unexpected file %q in archive", hdr.Name)
		}
	}
	// The gzip trailer's CRC and length are checked only at its end.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, readFailure("reading archive", err)
	}
	// gzip reads a bufio.Reader byte by byte, so br is right after the
	// archive: anything there is data no checksum covers.
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, readFailure("reading archive", err)
		}
		return nil, corrupt("data after the end of the archive")
	}
	for _, name := range []string{metaFile, stateFile, sumsFile} {
		if !seen[name] {
			return nil, corrupt("%s is missing", name)
		}
	}

	want, err := parseSums(sums)
	if err != nil {
		return nil, err
	}
	metaSum := sha256.Sum256(metaJSON)
	for _, f := range []struct {
		name string
		sum  []byte
	}{{metaFile, metaSum[:]}, {stateFile, stateSum}} {
		if want[f.name] != hex.EncodeToString(f.sum) {
			return nil, corrupt("checksum mismatch for %s", f.name)
		}
	}

	var meta raft.SnapshotMeta
	if err := json.Unmarshal(metaJSON, &meta); err != nil {
		return nil, corrupt("%s: %v", metaFile, err)
	}
	if meta.Size != stateSize {
		return nil, corrupt("%s is %d bytes but %s says %d", stateFile, stateSize, metaFile, meta.Size)
	}
	if meta.Index == 0 || meta.Term == 0 {
		return nil, corrupt("%s has no raft index or term", metaFile)
	}
	if meta.Version < raft.SnapshotVersionMin || meta.Version > raft.SnapshotVersionMax {
		return nil, corrupt("%s: unsupported raft snapshot version %d", metaFile, meta.Version)
	}
	return &meta, nil
}

// Verify reads a whole archive and returns its metadata if it is intact.
func Verify(r io.Reader) (*raft.SnapshotMeta, error) {
	return Read(r, io.Discard, 0)
}

// readSmall reads meta.json or SHA256SUMS.
func readSmall(tr *tar.Reader, hdr *tar.Header) ([]byte, error) {
	if hdr.Size > maxSmallFile {
		return nil, corrupt("%s is %d bytes, more than a snapshot's %s can be", hdr.Name, hdr.Size, hdr.Name)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, readFailure("reading "+hdr.Name, err)
	}
	return b, nil
}

// parseSums reads sha256sum's output format: "<hex>  <name>" per line.
func parseSums(b []byte) (map[string]string, error) {
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != sha256.Size*2 {
			return nil, corrupt("%s: malformed line %q", sumsFile, line)
		}
		sums[name] = sum
	}
	return sums, nil
}

// readFailure is a read error of the archive: a *TooLargeError of the
// source as it is, anything else as a *CorruptError.
func readFailure(what string, err error) error {
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return tl
	}
	return corrupt("%s: %s", what, readErr(err))
}

// readErr names the usual ways a damaged file fails to read.
func readErr(err error) string {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "unexpected end of file (truncated?)"
	case errors.Is(err, gzip.ErrChecksum):
		return "gzip checksum mismatch (altered?)"
	case errors.Is(err, gzip.ErrHeader):
		return "invalid gzip header"
	}
	return err.Error()
}

// writeError marks a failure of Read's destination, which is not the
// archive's fault.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// failWriter wraps w so that its errors can be told from the archive's.
type failWriter struct{ w io.Writer }

func (f failWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		err = &writeError{err: err}
	}
	return n, err
}
