# The whole test suite is `make test`; .ci/run calls exactly that.
GO ?= go

.PHONY: test bench build man lint fmt image

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

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
