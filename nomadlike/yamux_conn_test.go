package nomadlike

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
)

// recordConn records what reaches the socket, one entry per Write.
type recordConn struct {
	net.Conn
	writes [][]byte
}

func (r *recordConn) Write(p []byte) (int, error) {
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

func frameHeader(typ uint8, length uint32) []byte {
	h := make([]byte, yamuxHeaderSize)
	h[1] = typ
	binary.BigEndian.PutUint32(h[4:8], 3) // stream ID
	binary.BigEndian.PutUint32(h[8:12], length)
	return h
}

// TestCoalescingConn: a data frame's header waits for its body and both
// arrive in order; header-only frames (window updates, data frames without
// a body) and a body that does not match its header pass straight through;
// the byte stream is always exactly what yamux wrote.
func TestCoalescingConn(t *testing.T) {
	rec := &recordConn{}
	c := &coalescingConn{Conn: rec}
	var want bytes.Buffer
	write := func(p []byte) {
		t.Helper()
		n, err := c.Write(p)
		if err != nil || n != len(p) {
			t.Fatalf("write %d bytes: %d, %v", len(p), n, err)
		}
		want.Write(p)
	}

	write(frameHeader(yamuxTypeData, 5))
	if len(rec.writes) != 0 {
		t.Fatalf("a data header was written before its body: %v", rec.writes)
	}
	write([]byte("hello"))
	write(frameHeader(1, 0)) // window update: no body
	if len(rec.writes) == 0 || !bytes.Equal(rec.writes[len(rec.writes)-1], frameHeader(1, 0)) {
		t.Fatalf("window update held back: %v", rec.writes)
	}
	write(frameHeader(yamuxTypeData, 0)) // data frame without body (FIN)
	if !bytes.Equal(rec.writes[len(rec.writes)-1], frameHeader(yamuxTypeData, 0)) {
		t.Fatal("empty data frame held back")
	}
	write(frameHeader(yamuxTypeData, 4))
	write([]byte("mismatch")) // not the announced length

	var got bytes.Buffer
	for _, w := range rec.writes {
		got.Write(w)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("stream differs:\n got %x\nwant %x", got.Bytes(), want.Bytes())
	}
}
