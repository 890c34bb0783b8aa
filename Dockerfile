# tokenwarden on an empty base image: a static binary (CGO off; SQLite is
# pure Go), CA certificates, a non-root user, no shell. No base image is
# pulled, so the binary is built first, by the line `make image` runs:
#
#   CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/tokenwarden ./cmd/tokenwarden
#   cp /etc/ssl/certs/ca-certificates.crt bin/ca-certificates.crt
#   buildah bud -t tokenwarden .        # or: docker build -t tokenwarden .
#
# Run it with the config mounted at /etc/tokenwarden/tokenwarden.yaml and a
# volume at /data (state: sqlite:///data/tokenwarden.db; its key is created
# beside it on the first run); the root file system can be read-only. Probes: GET /healthz (liveness) and /readyz (readiness)
# on port 8484.
FROM scratch
COPY deploy/container/passwd /etc/passwd
COPY deploy/container/group /etc/group
COPY bin/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --chown=65532:65532 deploy/container/data/ /data/
COPY bin/tokenwarden /usr/local/bin/tokenwarden
ENV TMPDIR=/data
WORKDIR /data
VOLUME /data
USER 65532:65532
EXPOSE 8484
ENTRYPOINT ["/usr/local/bin/tokenwarden"]
CMD ["serve", "-c", "/etc/tokenwarden/tokenwarden.yaml", "--listen", ":8484"]
