package sink_test

import (
	"errors"
	"fmt"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// main prints the hint of any error through problem.Hint: a sink's
// refusal, wrapped on its way up, must carry its hint there.
func TestErrorHintReachesMain(t *testing.T) {
	err := fmt.Errorf("deliver to 2 sinks: %w", &sink.Error{Kind: "file", Err: errors.New("directory /x does not exist"), Hint: "create the directory"})
	if got := problem.Hint(err); got != "create the directory" {
		t.Errorf("problem.Hint = %q, want the sink's hint", got)
	}
}
