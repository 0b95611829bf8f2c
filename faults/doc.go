// Package faults is the fault suite (`make faults`, run by CI): it builds
// the jianfu binary, starts its own MariaDB and redis-server, runs `jianfu
// api` and `jianfu worker` against them as real processes, and kills them
// (SIGKILL) under load. Every scenario asserts what a tipster, a staff
// member or an operator would notice: no 500, no lost receipt, no
// half-written case, no task run twice. docs/reliability.md records the
// figures of a run.
//
// The tests run only with JIANFU_FAULTS=1 (make faults sets it), so `make
// test` does not pay for them.
package faults
