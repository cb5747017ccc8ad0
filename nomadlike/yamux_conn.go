package nomadlike

import (
	"encoding/binary"
	"net"
)

// yamuxHeaderSize and yamuxTypeData are from yamux's frame format: version
// (1 byte), type (1), flags (2), stream ID (4), length (4); type 0 is data.
const (
	yamuxHeaderSize = 12
	yamuxTypeData   = 0
)

// coalescingConn sends a yamux data frame's header and body in one
// syscall. yamux's send loop writes every frame as two Writes (header,
// then body), which with TCP_NODELAY costs two syscalls and two packets
// per RPC message on each side. The header of a data frame with a body is
// held back and written with the body in one write; every other write
// passes through. Only yamux's single send goroutine writes, so no lock is
// needed.
type coalescingConn struct {
	net.Conn
	hdr     [yamuxHeaderSize]byte
	pending uint32 // body length the held header announces; 0: none held
	buf     []byte // header and body of the frame being written
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	if c.pending == 0 {
		if len(p) == yamuxHeaderSize && p[1] == yamuxTypeData {
			if n := binary.BigEndian.Uint32(p[8:12]); n > 0 {
				copy(c.hdr[:], p)
				c.pending = n
				return len(p), nil
			}
		}
		return c.Conn.Write(p)
	}
	want := c.pending
	c.pending = 0
	if uint32(len(p)) != want {
		// Not the body the header announced: keep the order, give up
		// the saving.
		if _, err := c.Conn.Write(c.hdr[:]); err != nil {
			return 0, err
		}
		return c.Conn.Write(p)
	}
	// One buffer, one Write: writev (net.Buffers) saves the copy only on a
	// bare *net.TCPConn, and the conns here are wrapped (the per-address
	// connection cap, TLS), which made net.Buffers fall back to a Write per
	// buffer, two syscalls again, and over TLS two records per frame.
	c.buf = append(append(c.buf[:0], c.hdr[:]...), p...)
	n, err := c.Conn.Write(c.buf)
	if cap(c.buf) > maxCoalesceBuf {
		c.buf = nil // do not keep the odd huge frame's buffer
	}
	if n < yamuxHeaderSize {
		return 0, err
	}
	return n - yamuxHeaderSize, err
}

// maxCoalesceBuf bounds the buffer a coalescingConn keeps between frames.
const maxCoalesceBuf = 256 << 10
