package doctor

import (
	"context"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// FuzzClassifier feeds doctor's input checks (present, clean, shape — the
// ones that look at the raw value; no GitLab URL, so the chain stops at the
// instance check without a network call) every kind of mangled token. It
// must never panic, and no output may carry the token: a run of secret
// characters is planted at a fuzzed place in the value and must not show
// up in the text or JSON report, beyond the last four characters the hint
// shows. Run it longer with
//
//	go test -run '^$' -fuzz '^FuzzClassifier$' -fuzztime 2m ./internal/doctor/
func FuzzClassifier(f *testing.F) {
	for _, s := range []string{
		goodToken, goodToken + "\n", goodToken + "\r\n", " " + goodToken, `"` + goodToken + `"`, "'" + goodToken,
		"Bearer " + goodToken, "PRIVATE-TOKEN: " + goodToken, "Authorization: Bearer " + goodToken + "\n\n",
		goodToken + " " + goodToken, "gldt-AbCdEfGhIjKlMnOpQrSt", "glpat-AbCdEf", "glpat-AbCdEfGhIj…KlMnOpQrSt",
		"ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "GR1348941AbCdEf", "", "\n", `""`, "`glpat-x`", "token glpat-",
		"glpat-\x00\xff\xfe", "\t \r\n glpat-AbCdEfGhIjKlMnOpQrSt \t",
	} {
		for kind := range byte(3) {
			f.Add(s, uint8(len(s)/2), kind)
		}
	}
	f.Fuzz(func(t *testing.T, v string, at uint8, kind byte) {
		const planted = "Zq7Xv3Kp9WmR"
		i := int(at) % (len(v) + 1)
		v = v[:i] + planted + v[i:]
		in := Input{Token: secret.New(v)}
		switch kind % 3 {
		case 0:
			in.Origin = Origin{Kind: "env", Name: "APP_TOKEN", Found: true}
		case 1:
			in.Origin = Origin{Kind: "file", Name: "token.txt", Found: true}
		default:
			in.Origin = Origin{Kind: "stdin", Found: true}
		}
		rep := Run(context.Background(), in, Config{})
		if len(rep.Checks) != len(steps) {
			t.Fatalf("%d checks, want %d", len(rep.Checks), len(steps))
		}
		for _, out := range renderings(t, rep) {
			for j := 0; j+5 <= len(planted); j++ {
				if strings.Contains(out, planted[j:j+5]) {
					t.Fatalf("the report shows part of the token (%q):\n%s", planted[j:j+5], out)
				}
			}
		}
		if rep.Healthy {
			t.Fatalf("healthy without a GitLab URL: %+v", rep.Checks)
		}
	})
}
