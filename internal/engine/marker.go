package engine

import (
	"regexp"
	"strings"
)

// A rotation's id travels in the new token's description so that, when the
// create response is lost, the next run finds the token it already minted.
var markerRE = regexp.MustCompile(`\s*\[tokenwarden rot-[0-9a-f]+\]`)

func marker(rotationID string) string { return "[tokenwarden " + rotationID + "]" }

// withMarker returns desc without any earlier rotation marker, plus this one.
func withMarker(desc, rotationID string) string {
	desc = strings.TrimSpace(markerRE.ReplaceAllString(desc, ""))
	if desc == "" {
		return marker(rotationID)
	}
	return desc + " " + marker(rotationID)
}

func hasMarker(desc, rotationID string) bool {
	return strings.Contains(desc, marker(rotationID))
}
