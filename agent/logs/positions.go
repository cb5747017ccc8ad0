package logs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/nomadlike/nomadlike/nomadlike/atomicfile"
)

// fingerprintLen is how many leading bytes of a file identify it beside
// its inode: an inode the kernel gave again to a new file after a restart
// must not resume at the old file's offset.
const fingerprintLen = 128

// position is what the positions file keeps of one file: up to Offset
// its lines were accepted by every client.
type position struct {
	Target string `json:"target"`
	Path   string `json:"path"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Offset int64  `json:"offset"`
	// Fingerprint is the SHA-256 of the file's first FingerprintLen
	// bytes (at most fingerprintLen, at most Offset).
	Fingerprint    string `json:"fingerprint,omitempty"`
	FingerprintLen int    `json:"fingerprint_len,omitempty"`
}

type positionsFile struct {
	Version int        `json:"version"`
	Files   []position `json:"files"`
}

// fileID is a file's identity whatever its name: a rotation renames a
// file, it does not make it another.
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, true //nolint:unconvert // Dev's type differs by OS
}

// readPositions reads the positions file at path; a missing file is an
// empty one. A file that does not parse is an error: starting from zero
// would send every line again.
func readPositions(path string) ([]position, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pf positionsFile
	if err := json.Unmarshal(b, &pf); err != nil {
		return nil, fmt.Errorf("positions file %s: %w (remove it to tail every file from its start)", path, err)
	}
	if pf.Version != 1 {
		return nil, fmt.Errorf("positions file %s: version %d, want 1", path, pf.Version)
	}
	return pf.Files, nil
}

func writePositions(path string, files []position) error {
	b, err := json.MarshalIndent(positionsFile{Version: 1, Files: files}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// fingerprint hashes the first n bytes of f; ok is false when f is
// shorter.
func fingerprint(f io.ReaderAt, n int) (string, bool) {
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return "", false
	}
	h := sha256.Sum256(buf)
	return hex.EncodeToString(h[:]), true
}

// resume is the offset a file newly found for target starts at: the
// stored offset of the same file (same device and inode, same leading
// bytes, at least that long), under its old name or a new one; else 0.
func resume(stored []position, target string, id fileID, f *os.File, size int64) int64 {
	for _, p := range stored {
		if p.Target != target || p.Dev != id.dev || p.Ino != id.ino || p.Offset > size {
			continue
		}
		if p.FingerprintLen > 0 {
			fp, ok := fingerprint(f, p.FingerprintLen)
			if !ok || fp != p.Fingerprint {
				continue
			}
		}
		return p.Offset
	}
	return 0
}
