package client

import (
	"slices"
	"sync"
)

// serverList is the client's ordered list of server RPC addresses: the
// first is tried first; one that fails moves to the back.
type serverList struct {
	mu      sync.Mutex
	servers []string
}

func newServerList(addrs []string) *serverList {
	l := &serverList{}
	l.set(addrs)
	return l
}

func (l *serverList) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.servers)
}

// set replaces the list (duplicates dropped, order kept).
func (l *serverList) set(addrs []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.servers = nil
	for _, a := range addrs {
		if !slices.Contains(l.servers, a) {
			l.servers = append(l.servers, a)
		}
	}
}

// demote moves addr to the back of the list.
func (l *serverList) demote(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.Index(l.servers, addr)
	if i < 0 || i == len(l.servers)-1 {
		return
	}
	l.servers = append(slices.Delete(l.servers, i, i+1), addr)
}

// learn adds servers the cluster reported, after the known ones, so that
// a client configured with one server survives that server's failure.
func (l *serverList) learn(addrs []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range addrs {
		if !slices.Contains(l.servers, a) {
			l.servers = append(l.servers, a)
		}
	}
}
