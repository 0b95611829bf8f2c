package main

import (
	"fmt"
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

// sampleCPU reads the CPU time of the processes whose CPU a scenario accounts for: the
// database and Redis servers by command name, this program, and the
// server under test by pid (0: none).
func sampleCPU(serverPid int) cpuSample {
	s := cpuSample{}
	add := func(role, pid string) {
		b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
		if err != nil {
			return
		}
		// Fields after the command (which may hold spaces) start at ')'.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			return
		}
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		s[role] += (utime + stime) / clockTicks
	}
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
			add("database", d.Name())
		case "redis-server":
			add("redis", d.Name())
		}
	}
	add("load client", strconv.Itoa(os.Getpid()))
	if serverPid > 0 {
		add("jianfu", strconv.Itoa(serverPid))
	}
	return s
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
