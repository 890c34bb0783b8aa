# The whole test suite is `make test`; .ci/run calls exactly that.
GO ?= go

.PHONY: test bench build lint fmt

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/inventory/

build:
	$(GO) build -o bin/tokenwarden ./cmd/tokenwarden

fmt:
	gofmt -l -w .

lint:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
