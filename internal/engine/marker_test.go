package engine

import (
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// The marker a minted token carries must not count as a description for
// scan: a configured token without a description is still flagged
// no-description once tokenwarden has minted it.
func TestMarkerIsNoDescriptionForScan(t *testing.T) {
	id := journal.NewID()
	for desc, flagged := range map[string]bool{"": true, "deploys the app": false} {
		tok := gitlab.Token{Name: "deploy", Description: withMarker(desc, id), Scopes: []string{"read_api"}, Active: true}
		got := false
		for _, f := range policy.Evaluate(tok, tok.CreatedAt, policy.Thresholds{}) {
			got = got || f.Code == policy.CodeNoDescription
		}
		if got != flagged {
			t.Errorf("configured description %q minted as %q: no-description = %v, want %v", desc, tok.Description, got, flagged)
		}
	}
}
