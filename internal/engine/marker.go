package engine

import (
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// A rotation's id travels in the new token's description so that, when the
// create response is lost, the next run finds the token it already minted
// (gitlab.Unmarked strips it).
func marker(rotationID string) string { return "[tokenwarden " + rotationID + "]" }

// withMarker returns desc without any earlier rotation marker, plus this one.
func withMarker(desc, rotationID string) string {
	desc = gitlab.Unmarked(desc)
	if desc == "" {
		return marker(rotationID)
	}
	return desc + " " + marker(rotationID)
}

func hasMarker(desc, rotationID string) bool {
	return strings.Contains(desc, marker(rotationID))
}
