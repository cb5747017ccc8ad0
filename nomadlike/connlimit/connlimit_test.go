package connlimit

import (
	"errors"
	"net"
	"testing"
)

// TestLimiter_PerIPCapAndRelease: the cap is per IP, a closed connection
// frees its slot once however often it is closed, and 0 disables the cap.
func TestLimiter_PerIPCapAndRelease(t *testing.T) {
	l := New(0)
	conns := 0
	for range 50 {
		c1, c2 := net.Pipe()
		t.Cleanup(func() { c1.Close(); c2.Close() })
		if _, err := l.Accept(&addrConn{Conn: c1, remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.9"), Port: 1}}); err == nil {
			conns++
		}
	}
	if conns != 50 || l.Max() != 0 {
		t.Fatalf("limit 0 took %d of 50 connections", conns)
	}
	// A cap set later counts the connections already open.
	l.SetMax(50)
	c1, c2 := net.Pipe()
	t.Cleanup(func() { c1.Close(); c2.Close() })
	if _, err := l.Accept(&addrConn{Conn: c1, remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.9"), Port: 1}}); !errors.Is(err, ErrPerClientIPLimitReached) {
		t.Fatalf("51st connection under a cap of 50 set later: %v", err)
	}

	l = New(2)
	conn := func(ip string) net.Conn {
		c1, c2 := net.Pipe()
		t.Cleanup(func() { c1.Close(); c2.Close() })
		return &addrConn{Conn: c1, remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	}
	a1, err1 := l.Accept(conn("10.0.0.1"))
	a2, err2 := l.Accept(conn("10.0.0.1"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := l.Accept(conn("10.0.0.1")); !errors.Is(err, ErrPerClientIPLimitReached) {
		t.Fatalf("third connection from one IP: %v", err)
	}
	if _, err := l.Accept(conn("10.0.0.2")); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	a1.Close()
	a1.Close()
	if got := l.Open("10.0.0.1"); got != 1 {
		t.Fatalf("%d open after one close (twice)", got)
	}
	if _, err := l.Accept(conn("10.0.0.1")); err != nil {
		t.Fatalf("after a close: %v", err)
	}
	a2.Close()
}

type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c *addrConn) RemoteAddr() net.Addr { return c.remote }
