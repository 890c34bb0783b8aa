# The whole test suite is `make test`; .ci/run calls exactly that.
GO ?= go

.PHONY: test bench build vet fmt

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/inventory/

build:
	$(GO) build -o bin/tokenwarden ./cmd/tokenwarden

fmt:
	gofmt -l -w .
