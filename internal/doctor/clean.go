package doctor

import (
	"context"
	"fmt"
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// checkClean finds what copying and pasting leaves around a token: spaces,
// newlines, quotes, an "Authorization: Bearer" header.
func checkClean(_ context.Context, s *session) Result {
	v := s.in.Token.Reveal()
	problems, remove, bare := strayParts(v)
	if len(problems) == 0 {
		return pass("no whitespace, quotes or prefix around the token")
	}
	where := s.in.Origin.Label()
	if s.in.Origin.Kind == "file" && v == bare+"\n" {
		// One newline at the end of a file is what an editor or `echo >`
		// leaves, and most readers drop it. The checks that follow look at
		// the token as those readers see it.
		s.in.Token = secret.New(bare)
		return warn(where+" ends with a newline", s.newlineFix())
	}
	detail := fmt.Sprintf("%s %s", where, joinAnd(problems))
	onlySpace := true
	for _, r := range remove {
		if !strings.HasPrefix(r, "the leading ") && !strings.HasPrefix(r, "the trailing ") {
			onlySpace = false
		}
	}
	return fail(detail, s.cleanFix(joinAnd(remove), onlySpace))
}

// strayParts describes, outside in, what wraps the token, and what has to go.
func strayParts(v string) (problems, remove []string, token string) {
	lead, rest := splitLeadingSpace(v)
	if lead != "" {
		problems = append(problems, "starts with "+describeSpace(lead))
		remove = append(remove, "the leading "+nameSpace(lead))
	}
	body, trail := splitTrailingSpace(rest)
	if trail != "" {
		problems = append(problems, "ends with "+describeSpace(trail))
		remove = append(remove, "the trailing "+nameSpace(trail))
	}
	for _, q := range []struct{ q, name string }{{`"`, "double quotes"}, {`'`, "single quotes"}, {"`", "backquotes"}} {
		if len(body) >= 2 && strings.HasPrefix(body, q.q) && strings.HasSuffix(body, q.q) {
			problems = append(problems, "is wrapped in "+q.name)
			remove = append(remove, "the "+q.name)
			body = strings.TrimSpace(body[1 : len(body)-1])
			break
		}
		if strings.HasPrefix(body, q.q) || strings.HasSuffix(body, q.q) {
			problems = append(problems, "has a stray "+strings.TrimSuffix(q.name, "s"))
			remove = append(remove, "the "+strings.TrimSuffix(q.name, "s"))
			body = strings.TrimSpace(strings.Trim(body, q.q))
			break
		}
	}
	for _, p := range []struct{ prefix, name string }{
		{"authorization: bearer ", `"Authorization: Bearer "`},
		{"private-token: ", `"PRIVATE-TOKEN: "`},
		{"private-token:", `"PRIVATE-TOKEN:"`},
		{"bearer ", `"Bearer "`},
		{"token ", `"token "`},
	} {
		if strings.HasPrefix(strings.ToLower(body), p.prefix) {
			problems = append(problems, "starts with "+p.name)
			remove = append(remove, "the "+p.name+" prefix (that belongs in the HTTP header, not in the token)")
			body = strings.TrimSpace(body[len(p.prefix):])
			break
		}
	}
	if i := strings.IndexAny(body, " \t\r\n"); i >= 0 {
		problems = append(problems, fmt.Sprintf("contains %s inside (after character %d)", describeSpace(body[i:i+1]), i))
		remove = append(remove, "everything but the one token")
		body = body[:i]
	}
	return problems, remove, body
}

func splitLeadingSpace(v string) (space, rest string) {
	t := strings.TrimLeft(v, " \t\r\n")
	return v[:len(v)-len(t)], t
}

func splitTrailingSpace(v string) (body, space string) {
	t := strings.TrimRight(v, " \t\r\n")
	return t, v[len(t):]
}

// describeSpace names a run of whitespace the way people see it.
func describeSpace(ws string) string {
	switch {
	case ws == "\r\n":
		return "a Windows line ending (\\r\\n)"
	case ws == "\n":
		return "a newline"
	case ws == "\r":
		return "a carriage return"
	case ws == " ":
		return "a space"
	case ws == "\t":
		return "a tab"
	case strings.Trim(ws, "\r\n") == "":
		return fmt.Sprintf("%d line breaks", strings.Count(ws, "\n")+strings.Count(strings.ReplaceAll(ws, "\r\n", "\n"), "\r"))
	case strings.Trim(ws, " ") == "":
		return fmt.Sprintf("%d spaces", len(ws))
	default:
		return "whitespace"
	}
}

func nameSpace(ws string) string {
	if strings.Trim(ws, "\r\n") == "" {
		return "newline"
	}
	if strings.Trim(ws, " ") == "" {
		return "spaces"
	}
	return "whitespace"
}

// cleanFix says how to remove the stray parts where the token lives.
func (s *session) cleanFix(remove string, onlySpace bool) string {
	o := s.in.Origin
	if !onlySpace && o.Kind != "env" {
		return fmt.Sprintf("store only the bare token (glpat-…) in %s: remove %s", o.Label(), remove)
	}
	switch o.Kind {
	case "env":
		if s.in.InCI {
			return fmt.Sprintf("edit %s in Settings > CI/CD > Variables and remove %s: the value must be the bare token (glpat-…)", o.Name, remove)
		}
		if !onlySpace {
			return fmt.Sprintf("set %s to the bare token (glpat-…): remove %s", o.Name, remove)
		}
		return fmt.Sprintf("set %s to the bare token: remove %s (for example, when reading it from a file use export %s=\"$(tr -d '[:space:]' < FILE)\")", o.Name, remove, o.Name)
	case "file":
		return fmt.Sprintf("store only the bare token in %s: remove %s (for example: tr -d '[:space:]' < %s > %s.new && mv %s.new %s)", o.Name, remove, o.Name, o.Name, o.Name, o.Name)
	default:
		return fmt.Sprintf("pass the bare token: remove %s (printf %%s \"$TOKEN\" | tokenwarden doctor - adds no newline)", remove)
	}
}

// newlineFix says who keeps a file's trailing newline and how to drop it.
func (s *session) newlineFix() string {
	f := s.in.Origin.Name
	return fmt.Sprintf("a shell that reads the file with $(cat %s) or read drops the newline, "+
		"but a program that reads the file as it is keeps it, e.g. in an HTTP header (PRIVATE-TOKEN or Authorization), and GitLab then rejects the token; "+
		"if such a program reads it, remove the newline: printf %%s \"$(cat %s)\" > %s.new && mv %s.new %s "+
		"(a tokenwarden raw file sink writes none unless it is configured with newline: true)", f, f, f, f, f)
}

// joinAnd joins "a", "b", "c" as "a, b and c".
func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
