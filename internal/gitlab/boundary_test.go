package gitlab_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// clientGo is the GitLab client library this package wraps.
const clientGo = "gitlab.com/gitlab-org/api/client-go"

// Only this package imports client-go: everything else calls *gitlab.Client
// and branches on *gitlab.Error. The emulator's conformance tests are the
// one exception (they check the emulator against client-go itself).
func TestOnlyThisPackageImportsClientGo(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(rel string) bool {
		dir := filepath.ToSlash(filepath.Dir(rel))
		return dir == "internal/gitlab" || (dir == "internal/sim" && strings.HasSuffix(rel, "_test.go"))
	}
	fset := token.NewFileSet()
	seen := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		seen++
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if (p == clientGo || strings.HasPrefix(p, clientGo+"/")) && !allowed(rel) {
				t.Errorf("%s imports %s: call internal/gitlab instead", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Fatalf("walked only %d Go files under %s: not the module root?", seen, root)
	}
}
