package testenv

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to a target and can cut them all, as a
// network outage or a stopped server would, then come back on the same
// address.
type Proxy struct {
	Addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

// NewProxy listens on a free loopback port; it closes when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p.Addr = ln.Addr().String()
	p.serve(ln, p.pipe)
	t.Cleanup(p.Cut)
	return p
}

// serve hands each connection ln accepts to handle.
func (p *Proxy) serve(ln net.Listener, handle func(net.Conn)) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
}

// listen cuts everything and takes the proxy's address again.
func (p *Proxy) listen(t testing.TB, handle func(net.Conn)) {
	t.Helper()
	p.Cut()
	ln, err := net.Listen("tcp", p.Addr)
	if err != nil {
		t.Fatalf("proxy listen again: %v", err)
	}
	p.serve(ln, handle)
}

// hold keeps c open and never reads it.
func (p *Proxy) hold(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[c] = true
}

func (p *Proxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // cut while dialling
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

// Cut closes the listener and every open connection.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// Stall cuts every connection, then accepts new ones and never answers
// them, as a frozen server or a network that drops packets would: a
// client waits for its own timeout instead of being refused at once.
func (p *Proxy) Stall(t testing.TB) {
	t.Helper()
	p.listen(t, p.hold)
}

// Restore listens again on the same address (after Cut or Stall).
func (p *Proxy) Restore(t testing.TB) {
	t.Helper()
	p.listen(t, p.pipe)
}
