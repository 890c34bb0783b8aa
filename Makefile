# The whole test suite is `make test`; .ci/run calls exactly that.
GO ?= go

.PHONY: test bench build man lint fmt image soak

# cmd/tokenwarden's end-to-end scripts take about 4 minutes alone under
# -race; on a busy 2-core machine go test's default 10-minute limit per
# package is too close, so the limit is 30 minutes.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

# Every scale figure of issue 13 in one table (several minutes): the built
# binary against the emulator, then the dashboard and /metrics benchmarks.
bench:
	$(GO) build -o bin/tokenwarden ./cmd/tokenwarden
	$(GO) run ./internal/bench -bin bin/tokenwarden

# The version and commit `tokenwarden version` reports (empty without git:
# then the binary reports what Go recorded in it).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)

build:
	$(GO) build -ldflags '-X main.version=$(VERSION) -X main.commit=$(COMMIT)' -o bin/tokenwarden ./cmd/tokenwarden

# Man pages, one per command: bin/man/man1 (MANPATH=bin/man man tokenwarden).
man:
	$(GO) run ./cmd/tokenwarden man bin/man/man1

fmt:
	gofmt -l -w .

lint:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# The container image (Dockerfile): a static binary on an empty base image.
image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o bin/tokenwarden ./cmd/tokenwarden
	cp /etc/ssl/certs/ca-certificates.crt bin/ca-certificates.crt
	buildah bud --isolation chroot -t tokenwarden .

# The deterministic soak (internal/soak): SEEDS seeds of a simulated year of
# `serve` with TOKENS managed tokens, faults, crashes and reloads; SEED=n
# replays one seed. make test runs two short seeds.
SEEDS ?= 20
TOKENS ?= 200
DAYS ?= 365
soak:
	$(GO) test -count=1 -timeout 0 -run '^TestSoak$$' -v ./internal/soak/ $(if $(SEED),-soak.seed $(SEED),-soak.seeds $(SEEDS)) -soak.tokens $(TOKENS) -soak.days $(DAYS)
