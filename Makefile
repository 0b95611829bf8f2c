# The contract CI runs (.ci/run): make lint, make test, make faults,
# make cluster-test. make bench writes BENCHMARKS.md.
GO ?= go

.PHONY: test lint bench run build screenshots faults cluster-test

test:
	$(GO) test -race -count=1 -timeout 40m ./...

# cluster-test runs Jianfu on a 3-node Galera cluster and Redis Sentinel
# (deploy/cluster/cluster.sh) and kills nodes and processes under load
# (docs/scale-out.md). It needs galera-4, mariadb-server, rsync,
# redis-server, redis-sentinel and mailpit; outside CI it skips without them.
cluster-test:
	JIANFU_CLUSTER_TEST=1 $(GO) test -count=1 -timeout 15m -v -run '^TestClusterUnderFailures$$' ./deploy/cluster/

lint:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o jianfu .

run:
	$(GO) run . serve

# faults runs the fault suite (faults/): its own MariaDB, redis-server and
# jianfu processes, killed under load; see docs/reliability.md.
faults:
	JIANFU_FAULTS=1 $(GO) test -count=1 -parallel 4 -timeout 10m -v ./faults/

bench:
	$(GO) run ./bench -out BENCHMARKS.md

# screenshots writes the staff console's pictures for the README (needs
# Chromium; the test runs with api/ as its directory, hence the full path).
screenshots:
	JIANFU_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^(TestConsoleScreenshots|TestMonitoringScreenshots)$$' ./api/
