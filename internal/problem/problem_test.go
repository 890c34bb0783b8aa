package problem

import (
	"errors"
	"fmt"
	"testing"
)

type hinted struct{ hint string }

func (h hinted) Error() string    { return "hinted" }
func (h hinted) HintText() string { return h.hint }

func TestHint(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", errors.New("x"), ""},
		{"direct", hinted{"do this"}, "do this"},
		{"wrapped", fmt.Errorf("ctx: %w", hinted{"do this"}), "do this"},
		{"joined: the first one's hint", errors.Join(errors.New("plain"), hinted{"first"}, hinted{"second"}), "first"},
		{"joined: the first has none", errors.Join(hinted{""}, hinted{"second"}), ""},
		{"empty hint wrapping a hint", wrapHinted{hinted{"inner"}}, "inner"},
		{"problem", fmt.Errorf("sink: %w", Problem{Msg: "m", Hint: "h"}), "h"},
	}
	for _, tt := range tests {
		if got := Hint(tt.err); got != tt.want {
			t.Errorf("%s: Hint = %q, want %q", tt.name, got, tt.want)
		}
	}
}

type wrapHinted struct{ err error }

func (w wrapHinted) Error() string    { return "outer: " + w.err.Error() }
func (w wrapHinted) Unwrap() error    { return w.err }
func (w wrapHinted) HintText() string { return "" }
