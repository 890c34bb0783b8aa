#!/bin/sh
# Builds kube-apiserver for the kubernetes_secret sink's tests into a cache
# directory outside the repository, from the Go module proxy, and does
# nothing when the binary is already there. It prints the binary's path.
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod
# replaces every k8s.io/* staging module with a local directory. A throwaway
# module requires it and replaces each of those staging modules with the
# published module of the matching version (v1.X.Y -> v0.X.Y), generated
# from kubernetes' own go.mod.
set -eu
version=${KUBE_APISERVER_VERSION:-v1.37.2}
staging=v0.${version#v1.}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tokenwarden
bin=$cache/kube-apiserver-$version
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod init tokenwarden.test/kube-apiserver >/dev/null 2>&1
gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
[ -n "$gomod" ] || { echo "build-kube-apiserver: no go.mod for k8s.io/kubernetes@$version" >&2; exit 1; }
{
	echo "require k8s.io/kubernetes $version"
	echo "replace ("
	sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/.*#\t\1 => \1 '"$staging"'#p' "$gomod"
	echo ")"
} >>go.mod
printf 'package tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >tools.go
go mod tidy >/dev/null 2>&1 || go mod tidy
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$bin.tmp" "$bin"
echo "$bin"
