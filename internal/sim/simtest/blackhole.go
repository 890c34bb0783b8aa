package simtest

import (
	"net"
	"sync"
	"sync/atomic"
)

// Blackhole is a server that accepts connections and never answers: a
// GitLab that hangs. Close stops it and drops every connection.
type Blackhole struct {
	URL      string // http://127.0.0.1:PORT
	ln       net.Listener
	accepted atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
}

// NewBlackhole listens on a free loopback port.
func NewBlackhole() (*Blackhole, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &Blackhole{URL: "http://" + ln.Addr().String(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepted.Add(1)
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
		}
	}()
	return b, nil
}

// Accepted counts the connections accepted so far.
func (b *Blackhole) Accepted() int64 { return b.accepted.Load() }

// Close stops listening and closes every accepted connection.
func (b *Blackhole) Close() {
	b.ln.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
}
