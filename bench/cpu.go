package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuSample is the CPU time (user + system, seconds) used so far by each
// process that takes part in a scenario, by role.
type cpuSample map[string]float64

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// cpuRoles are the roles in report order.
var cpuRoles = []string{"jianfu", "database", "redis", "load client"}

// sampleCPU reads the CPU time of the processes whose CPU a scenario
// accounts for: the database and Redis servers the bench uses, this
// program, and the server under test by pid (0: none). The servers are
// the processes listening on the bench's ports (listenerPID); only when
// that cannot be told, every mariadbd, mysqld and redis-server counts,
// which on a machine shared with other databases overstates them.
func (b *bench) sampleCPU(serverPid int) cpuSample {
	s := cpuSample{}
	add := func(role, pid string) {
		st, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
		if err != nil {
			return
		}
		// Fields after the command (which may hold spaces) start at ')'.
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		if len(f) < 13 {
			return
		}
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		s[role] += (utime + stime) / clockTicks
	}
	if b.dbPID == 0 || b.redisPID == 0 {
		dirs, _ := os.ReadDir("/proc")
		for _, d := range dirs {
			if _, err := strconv.Atoi(d.Name()); err != nil {
				continue
			}
			comm, err := os.ReadFile(filepath.Join("/proc", d.Name(), "comm"))
			if err != nil {
				continue
			}
			switch strings.TrimSpace(string(comm)) {
			case "mariadbd", "mysqld":
				if b.dbPID == 0 {
					add("database", d.Name())
				}
			case "redis-server":
				if b.redisPID == 0 {
					add("redis", d.Name())
				}
			}
		}
	}
	for role, pid := range map[string]int{"database": b.dbPID, "redis": b.redisPID, "jianfu": serverPid} {
		if pid > 0 {
			add(role, strconv.Itoa(pid))
		}
	}
	add("load client", strconv.Itoa(os.Getpid()))
	// The machine's steal time (the eighth figure of /proc/stat's cpu
	// line): CPU the host gave to others while this VM wanted it. A phase
	// with much of it was slowed by the machine, not by the code.
	if st, err := os.ReadFile("/proc/stat"); err == nil {
		if f := strings.Fields(strings.SplitN(string(st), "\n", 2)[0]); len(f) > 8 && f[0] == "cpu" {
			steal, _ := strconv.ParseFloat(f[8], 64)
			s[stolen] = steal / clockTicks
		}
	}
	return s
}

// stolen is the cpuSample key of the machine's steal time; it is no
// process's and never part of a sum.
const stolen = "stolen"

// listenerPID is the process listening on TCP port, 0 when none is found
// (or /proc does not tell): the socket's inode from /proc/net/tcp{,6},
// then the process holding it.
func listenerPID(port int) int {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// local_address is HEXIP:HEXPORT, st 0A is LISTEN, inode is field 9.
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			if i := strings.LastIndexByte(f[1], ':'); i >= 0 {
				if p, err := strconv.ParseInt(f[1][i+1:], 16, 32); err == nil && int(p) == port {
					inodes["socket:["+f[9]+"]"] = true
				}
			}
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", d.Name(), "fd"))
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join("/proc", d.Name(), "fd", fd.Name())); err == nil && inodes[l] {
				return pid
			}
		}
	}
	return 0
}

// urlPort is the port of a mysql:// or redis:// URL (its default when none).
func urlPort(raw string, def int) int {
	u, err := url.Parse(raw)
	if err != nil {
		return 0
	}
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return n
	}
	return def
}

// perOp is the CPU milliseconds each role used per operation between two
// samples.
func (s cpuSample) perOp(before cpuSample, ops int) map[string]float64 {
	out := map[string]float64{}
	if ops == 0 {
		return out
	}
	for role, v := range s {
		out[role] = (v - before[role]) * 1000 / float64(ops)
	}
	return out
}

// cpuText is a one-line "role x.xx" list in report order, then any other
// figures.
func cpuText(m map[string]float64) string {
	var parts []string
	for _, role := range append(cpuRoles, "disk reads") {
		if v, ok := m[role]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2f", role, v))
		}
	}
	return strings.Join(parts, ", ")
}
